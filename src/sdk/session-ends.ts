// Sessions ended at the auth server (OpenID Connect Back-Channel Logout 1.0): the logout token's check, and the
// markers of ended sessions by which their access tokens are refused at once, under every validation policy.
import { jwtVerify, type JWTPayload } from 'jose';
import type { AuthServerConnection } from './auth-server-connection.js';
import { AuthError, messageOf } from './errors.js';
import { MemoryStore, type KeyValueStore } from './key-value-store.js';
import type { ResolvedOptions } from './options.js';

export interface SessionEnd {
  sid: string | null;
  sub: string | null;
}

/** Markers of ended sessions outlive every access token issued before the end (the server issues 15-minute tokens). */
const ENDED_SESSION_TTL_MS = 60 * 60 * 1000;
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export class SessionEnds {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly store: KeyValueStore,
    private readonly connection: AuthServerConnection,
  ) {}

  /** Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6). */
  async verifyLogoutToken(logoutToken: string): Promise<SessionEnd> {
    const configuration = this.connection.configuration ?? (await this.connection.discover());
    let claims: JWTPayload;
    try {
      const verified = await jwtVerify(logoutToken, this.connection.jwks.getKey, {
        issuer: configuration.serverMetadata().issuer,
        audience: this.options.clientId,
        algorithms: this.options.algorithms,
        clockTolerance: this.options.clockToleranceSeconds,
        maxTokenAge: 300,
        requiredClaims: ['iat', 'jti'],
      });
      claims = verified.payload;
      const typ = verified.protectedHeader.typ;
      if (typ !== undefined && !['logout+jwt', 'JWT', 'jwt'].includes(typ)) throw new Error(`unexpected typ ${typ}`);
    } catch (cause) {
      throw new AuthError('invalid_logout_token', `invalid logout token: ${messageOf(cause)}`, { cause });
    }
    const events = claims.events as Record<string, unknown> | undefined;
    if (!events || typeof events !== 'object' || typeof events[LOGOUT_EVENT] !== 'object') {
      throw new AuthError('invalid_logout_token', 'logout token without the back-channel logout event');
    }
    if ('nonce' in claims) throw new AuthError('invalid_logout_token', 'a logout token must not carry a nonce');
    const sid = typeof claims.sid === 'string' ? claims.sid : null;
    const sub = typeof claims.sub === 'string' ? claims.sub : null;
    if (!sid && !sub) throw new AuthError('invalid_logout_token', 'logout token without sid or sub');
    if (!(await this.store.add(`logout-jti:${String(claims.jti)}`, '1', 10 * 60 * 1000))) {
      throw new AuthError('invalid_logout_token', 'logout token replayed');
    }
    return { sid, sub };
  }

  /** Marks a session ended: its tokens (by sid, else every token of the subject issued until now) are refused. */
  async mark(ended: SessionEnd): Promise<void> {
    if (ended.sid) await this.store.set(`ended-sid:${ended.sid}`, '1', ENDED_SESSION_TTL_MS);
    else if (ended.sub) await this.store.set(`ended-sub:${ended.sub}`, String(Math.floor(Date.now() / 1000)), ENDED_SESSION_TTL_MS);
  }

  /** Marks a grant revoked, or one token (by its jti): the auth server said so on the revocation stream. */
  async markRevoked(revoked: { grantId?: string | null; jti?: string | null }): Promise<void> {
    if (revoked.grantId) await this.store.set(`ended-grant:${revoked.grantId}`, '1', ENDED_SESSION_TTL_MS);
    if (revoked.jti) await this.store.set(`revoked-jti:${revoked.jti}`, '1', ENDED_SESSION_TTL_MS);
  }

  /**
   * Whether a token of session `sid` (or of `sub`, issued at `iat`) belongs to a session ended since, or its grant or
   * itself was revoked.
   */
  async hasEnded(sid: string | null, sub: string, iat: number | undefined, token: { grantId?: unknown; jti?: unknown } = {}): Promise<boolean> {
    const store = this.store;
    const read = store instanceof MemoryStore ? (key: string) => store.getNow(key) : null;
    const marked = async (key: string) => (read ? read(key) : await store.get(key)) !== null;
    if (sid && (await marked(`ended-sid:${sid}`))) return true;
    if (typeof token.grantId === 'string' && (await marked(`ended-grant:${token.grantId}`))) return true;
    if (typeof token.jti === 'string' && (await marked(`revoked-jti:${token.jti}`))) return true;
    const endedAt = read ? read(`ended-sub:${sub}`) : await store.get(`ended-sub:${sub}`);
    return endedAt !== null && (iat ?? 0) <= Number(endedAt);
  }
}
