// Access token checks: offline (signature by the auth server's JWKS and the claims), by introspection (RFC 7662,
// cached), the two combined per validation policy with the fallback when the auth server is unreachable, and the
// instance's legacy HS256 tokens while a rollout still accepts them.
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import * as oidc from 'openid-client';
import type { AuthServerConnection } from './auth-server-connection.js';
import { userFromClaims, type AuthUser } from './auth-user.js';
import { AuthError, isUnreachable, messageOf } from './errors.js';
import type { KeyValueStore } from './key-value-store.js';
import { verifyLegacyToken } from './legacy-token.js';
import type { ResolvedOptions, ValidationPolicy } from './options.js';
import type { SessionEnds } from './session-ends.js';

export interface VerifiedToken {
  claims: JWTPayload;
  user: AuthUser;
  /** How the token was checked: signature only, live introspection (maybe cached), or signature only because the auth server was unreachable. */
  checkedBy: 'offline' | 'introspection' | 'offline-fallback' | 'legacy';
}

export interface ValidateOptions {
  /** Default: the client's policy ('introspect-cached' unless configured). */
  policy?: ValidationPolicy;
  /** Refuse (503) instead of falling back to the offline check when introspection cannot reach the auth server. */
  failClosed?: boolean;
}

export interface IntrospectionResult {
  active: boolean;
  [claim: string]: unknown;
}

/** A client_credentials token: its subject is the client itself, not a person. */
export function isServiceToken(verified: VerifiedToken): boolean {
  return verified.checkedBy !== 'legacy' && verified.claims.sub === verified.claims.client_id;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export class TokenValidator {
  /** jwtVerify options of access tokens, fixed once the issuer is known. */
  private verifyOptions: JWTVerifyOptions | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly store: KeyValueStore,
    private readonly connection: AuthServerConnection,
    private readonly sessionEnds: SessionEnds,
  ) {}

  /** Checks an access token without calling the auth server (signature by its JWKS, iss, aud, typ, alg, exp). */
  async verifyAccessToken(token: string): Promise<VerifiedToken> {
    this.verifyOptions ??= {
      issuer: (this.connection.configuration ?? (await this.connection.discover())).serverMetadata().issuer,
      audience: this.options.clientId,
      typ: 'at+jwt',
      algorithms: this.options.algorithms,
      clockTolerance: this.options.clockToleranceSeconds,
      requiredClaims: ['exp', 'iat', 'sub'],
    };
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.connection.jwks.getKey, this.verifyOptions));
    } catch (cause) {
      if (isUnreachable(cause)) throw new AuthError('auth_unavailable', 'the auth server signing keys cannot be fetched', { cause });
      throw new AuthError('invalid_token', `invalid access token: ${messageOf(cause)}`, { cause });
    }
    const user = userFromClaims(claims);
    if (await this.sessionEnds.hasEnded(user.sid, user.sub, claims.iat, { grantId: claims.grant_id, jti: claims.jti })) {
      throw new AuthError('inactive_token', 'the session of this token has ended');
    }
    return { claims, user, checkedBy: 'offline' };
  }

  /** RFC 7662 introspection. Results are cached for min(token expiry, AUTH_CACHE_TTL) unless cached is false. */
  async introspect(token: string, { cached = true }: { cached?: boolean } = {}): Promise<IntrospectionResult> {
    const key = `introspection:${digest(token)}`;
    if (cached) {
      const hit = await this.store.get(key);
      if (hit) return JSON.parse(hit) as IntrospectionResult;
    }
    const configuration = this.connection.configuration ?? (await this.connection.discover());
    this.connection.requests.introspection++;
    const response = await oidc.tokenIntrospection(configuration, token);
    const result: IntrospectionResult = { ...response, active: response.active === true };
    let exp = typeof response.exp === 'number' ? response.exp : undefined;
    if (exp === undefined) {
      try {
        const decoded = decodeJwt(token).exp;
        if (typeof decoded === 'number') exp = decoded;
      } catch {
        // an opaque token: the cache TTL alone bounds the entry
      }
    }
    const ttlMs = Math.min(this.options.cacheTtlSeconds * 1000, exp === undefined ? Infinity : exp * 1000 - Date.now());
    if (ttlMs > 0) await this.store.set(key, JSON.stringify(result), ttlMs);
    return result;
  }

  /** validateToken before resolveUser: the legacy HS256 check when enabled and the token is HS256, else per policy. */
  async checkToken(token: string, options: ValidateOptions): Promise<VerifiedToken> {
    const { legacy, useRemoteAuth } = this.options;
    // Phase 1 of a rollout (USE_REMOTE_AUTH=false): the instance's own tokens only.
    if (!useRemoteAuth && legacy) {
      const user = await verifyLegacyToken(token, legacy.secret, this.options.clockToleranceSeconds);
      return { claims: {}, user, checkedBy: 'legacy' };
    }
    if (legacy && (legacy.until === undefined || Date.now() < legacy.until.getTime())) {
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (cause) {
        throw new AuthError('invalid_token', 'malformed token', { cause });
      }
      if (alg === 'HS256') {
        const user = await verifyLegacyToken(token, legacy.secret, this.options.clockToleranceSeconds);
        return { claims: {}, user, checkedBy: 'legacy' };
      }
    }
    const policy = options.policy ?? this.options.policy;
    const verified = await this.verifyAccessToken(token);
    if (policy === 'offline') return verified;
    let result: IntrospectionResult;
    try {
      result = await this.introspect(token, { cached: policy === 'introspect-cached' });
    } catch (cause) {
      if (isUnreachable(cause) && !options.failClosed) return { ...verified, checkedBy: 'offline-fallback' };
      throw new AuthError('auth_unavailable', `the token could not be introspected: ${messageOf(cause)}`, { cause });
    }
    if (!result.active) throw new AuthError('inactive_token', 'the token has been revoked or its session has ended');
    return { ...verified, checkedBy: 'introspection' };
  }
}
