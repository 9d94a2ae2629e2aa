// Browser sessions of the instance: the tokens stay here (memory or Redis), the browser holds only a random id in
// an HttpOnly cookie. The access token is refreshed when it nears expiry, once per session however many requests
// arrive together, on one node or several sharing Redis (refresh tokens rotate: a second concurrent refresh would
// revoke the grant).
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import * as oidc from 'openid-client';
import type { AuthClient } from './auth-client.js';
import type { SessionEnd } from './session-ends.js';
import { AuthError, isUnreachable } from './errors.js';

export interface BrowserSession {
  id: string;
  sub: string;
  sid: string | null;
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
}

/** A session lives at most this long without use of its refresh token (the server's refresh token lifetime bounds it too). */
const SESSION_TTL_MS = 14 * 24 * 60 * 60 * 1000;
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;
/** The refresh lock outlives one token request (AUTH_TIMEOUT) by this much; waiters poll the store this often. */
const LOCK_SLACK_MS = 1000;
const LOCK_POLL_MS = 25;

const storeKey = (id: string) => `session:${createHash('sha256').update(id).digest('base64url')}`;

export class SessionManager {
  private readonly refreshing = new Map<string, Promise<BrowserSession | null>>();

  constructor(private readonly client: AuthClient) {}

  async create(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): Promise<BrowserSession> {
    const idClaims = tokens.claims();
    if (!idClaims) throw new AuthError('sign_in_failed', 'the auth server returned no ID token');
    const session: BrowserSession = {
      id: randomBytes(32).toString('base64url'),
      sub: idClaims.sub,
      sid: typeof idClaims.sid === 'string' ? idClaims.sid : null,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? null,
      idToken: tokens.id_token ?? null,
      expiresAt: Date.now() + (tokens.expires_in ?? 60) * 1000,
    };
    await this.save(session);
    await this.index(`sessions-of-sub:${session.sub}`, session.id);
    if (session.sid) await this.index(`sessions-of-sid:${session.sid}`, session.id);
    return session;
  }

  async get(id: string): Promise<BrowserSession | null> {
    const raw = await this.client.store.get(storeKey(id));
    return raw ? (JSON.parse(raw) as BrowserSession) : null;
  }

  async delete(id: string): Promise<void> {
    await this.client.store.delete(storeKey(id));
  }

  /** The session with an access token good for at least REFRESH_MARGIN_MS, refreshed if needed; null once it has ended. */
  async current(id: string): Promise<BrowserSession | null> {
    const session = await this.get(id);
    if (!session) return null;
    if (session.expiresAt - REFRESH_MARGIN_MS > Date.now() || !session.refreshToken) return session;
    let pending = this.refreshing.get(id);
    if (!pending) {
      pending = this.refresh(session).finally(() => this.refreshing.delete(id));
      this.refreshing.set(id, pending);
    }
    return pending;
  }

  /** Ends every local session matching a back-channel logout (by sid, or all of the sub's when no sid is given). */
  async endMatching(ended: SessionEnd): Promise<void> {
    const indexKey = ended.sid ? `sessions-of-sid:${ended.sid}` : ended.sub ? `sessions-of-sub:${ended.sub}` : null;
    if (!indexKey) return;
    const ids = JSON.parse((await this.client.store.get(indexKey)) ?? '[]') as string[];
    await Promise.all(ids.map((id) => this.delete(id)));
    await this.client.store.delete(indexKey);
  }

  /**
   * Refreshes once across every node sharing the store: the node that takes the session's refresh lock (a set-once
   * entry) calls the auth server; the others wait for its result in the store.
   */
  private async refresh(session: BrowserSession): Promise<BrowserSession | null> {
    // Another node may have refreshed it already (shared store): use its result.
    const latest = await this.get(session.id);
    if (!latest) return null;
    if (latest.refreshToken !== session.refreshToken) return latest;
    const lock = `refresh-lock:${storeKey(session.id)}`;
    if (!(await this.client.store.add(lock, '1', this.client.options.timeoutMs + LOCK_SLACK_MS))) {
      return this.refreshedElsewhere(session);
    }
    try {
      return await this.refreshNow(session);
    } finally {
      await this.client.store.delete(lock);
    }
  }

  /** Waits for the node holding the refresh lock to store the refreshed session. */
  private async refreshedElsewhere(session: BrowserSession): Promise<BrowserSession | null> {
    const deadline = Date.now() + this.client.options.timeoutMs + LOCK_SLACK_MS;
    while (Date.now() < deadline) {
      await setTimeout(LOCK_POLL_MS);
      const latest = await this.get(session.id);
      if (!latest) return null;
      if (latest.refreshToken !== session.refreshToken) return latest;
    }
    if (session.expiresAt > Date.now()) return session;
    throw new AuthError('auth_unavailable', 'the session refresh on another node did not finish');
  }

  private async refreshNow(session: BrowserSession): Promise<BrowserSession | null> {
    let tokens: oidc.TokenEndpointResponse;
    try {
      const configuration = await this.client.discover();
      this.client.requests.refresh++;
      tokens = await oidc.refreshTokenGrant(configuration, session.refreshToken as string);
    } catch (cause) {
      if (isUnreachable(cause)) {
        // Keep serving the still-valid token while the auth server is away; refuse once it has expired.
        if (session.expiresAt > Date.now()) return session;
        throw new AuthError('auth_unavailable', 'the session needs a refresh and the auth server is unreachable', { cause });
      }
      await this.delete(session.id);
      return null;
    }
    const refreshed: BrowserSession = {
      ...session,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? session.refreshToken,
      idToken: tokens.id_token ?? session.idToken,
      expiresAt: Date.now() + (tokens.expires_in ?? 60) * 1000,
    };
    await this.save(refreshed);
    return refreshed;
  }

  private save(session: BrowserSession): Promise<void> {
    return this.client.store.set(storeKey(session.id), JSON.stringify(session), SESSION_TTL_MS);
  }

  private async index(key: string, id: string): Promise<void> {
    const ids = JSON.parse((await this.client.store.get(key)) ?? '[]') as string[];
    await this.client.store.set(key, JSON.stringify([...ids.slice(-49), id]), SESSION_TTL_MS);
  }
}
