// The instance's client of the auth server: discovery, signing keys, access token checks (offline and by
// introspection), the service token, back-channel logout, and the reachability state the host app can watch.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyOptions } from 'jose';
import * as oidc from 'openid-client';
import { userFromClaims, type AuthUser } from './auth-user.js';
import { AuthError, isUnreachable } from './errors.js';
import { JwksCache } from './jwks-cache.js';
import { MemoryStore, RedisStore, type KeyValueStore } from './key-value-store.js';
import { verifyLegacyToken } from './legacy-token.js';
import { resolveOptions, type AuthClientOptions, type ResolvedOptions, type ValidationPolicy } from './options.js';
import { SessionManager } from './session-manager.js';
import { expressMiddleware } from './express-middleware.js';
import { koaMiddleware } from './koa-middleware.js';
import { socketMiddleware, type SocketMiddlewareOptions } from './socket-middleware.js';
import { browserRoutes, type BrowserRoutesOptions } from './browser-routes.js';
import type { MiddlewareOptions } from './request-auth.js';

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

export interface AuthStatus {
  state: 'unknown' | 'ok' | 'degraded';
  since: Date;
  lastError: string | null;
}

export interface SessionEnd {
  sid: string | null;
  sub: string | null;
}

/** Markers of ended sessions outlive every access token issued before the end (the server issues 15-minute tokens). */
const ENDED_SESSION_TTL_MS = 60 * 60 * 1000;
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** A client_credentials token: its subject is the client itself, not a person. */
export function isServiceToken(verified: VerifiedToken): boolean {
  return verified.checkedBy !== 'legacy' && verified.claims.sub === verified.claims.client_id;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Events: 'degraded' (AuthStatus) when the auth server stops answering, 'recovered' (AuthStatus) when it answers
 * again, 'session-ended' (SessionEnd) when a back-channel logout ends a session.
 */
export class AuthClient extends EventEmitter {
  readonly options: ResolvedOptions;
  /** Short-lived shared state: memory, or Redis when options.redis is set. */
  readonly store: KeyValueStore;
  /** Browser sessions of this instance (tokens kept server side, keyed by the session cookie). */
  readonly sessions: SessionManager;
  /** Requests made to the auth server, by kind. */
  readonly requests = { discovery: 0, jwks: 0, introspection: 0, serviceToken: 0, refresh: 0 };

  private configuration: oidc.Configuration | undefined;
  private discovering: Promise<oidc.Configuration> | undefined;
  private readonly jwks: JwksCache;
  private serviceToken: { value: string; renewAt: number } | undefined;
  private serviceTokenInflight: Promise<string> | undefined;
  private currentStatus: AuthStatus = { state: 'unknown', since: new Date(), lastError: null };
  private probeTimer: NodeJS.Timeout | undefined;
  /** jwtVerify options of access tokens, fixed once the issuer is known. */
  private verifyOptions: JWTVerifyOptions | undefined;
  private readonly trackers: { close(): void }[] = [];

  constructor(options: AuthClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.store = this.options.store ?? (this.options.redis ? new RedisStore(this.options.redis, this.options.redisPrefix) : new MemoryStore());
    this.jwks = new JwksCache(
      () => this.loadJwks(),
      this.options.jwksCooldownSeconds * 1000,
      this.options.jwksMaxAgeSeconds * 1000,
    );
    this.sessions = new SessionManager(this);
  }

  /** ok, degraded (the auth server is unreachable: offline checks only, no new sign-ins) or unknown (not contacted yet). */
  get status(): AuthStatus {
    return { ...this.currentStatus };
  }

  get jwksFetches(): number {
    return this.jwks.fetches;
  }

  /** fetch with the AUTH_TIMEOUT, recording whether the auth server answers. Used for every call to the server. */
  readonly fetch = async (url: string | URL, init: RequestInit = {}): Promise<Response> => {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal });
    } catch (cause) {
      this.markDegraded(cause);
      throw new AuthError('auth_unavailable', `the auth server is unreachable: ${messageOf((cause as { cause?: unknown }).cause ?? cause)}`, { cause });
    }
    if (response.status >= 500) this.markDegraded(new Error(`HTTP ${response.status} from ${String(url)}`));
    else this.markReachable();
    return response;
  };

  /** The auth server's metadata and this client's configuration (discovered once, retried after a failure). */
  discover(): Promise<oidc.Configuration> {
    if (this.configuration) return Promise.resolve(this.configuration);
    this.discovering ??= (async () => {
      try {
        this.requests.discovery++;
        const configuration = await oidc.discovery(
          new URL(this.options.serverUrl),
          this.options.clientId,
          undefined,
          oidc.ClientSecretBasic(this.options.clientSecret),
          {
            execute: this.options.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
            timeout: Math.ceil(this.options.timeoutMs / 1000),
            [oidc.customFetch]: this.fetch as oidc.CustomFetch,
          },
        );
        configuration[oidc.customFetch] = this.fetch as oidc.CustomFetch;
        configuration.timeout = Math.ceil(this.options.timeoutMs / 1000);
        this.configuration = configuration;
        return configuration;
      } catch (cause) {
        if (cause instanceof AuthError) throw cause;
        throw new AuthError('auth_unavailable', `discovery of ${this.options.serverUrl} failed: ${messageOf(cause)}`, { cause });
      } finally {
        this.discovering = undefined;
      }
    })();
    return this.discovering;
  }

  /** Asks the auth server whether it answers (its discovery document); updates status. */
  async checkReachable(): Promise<boolean> {
    try {
      const response = await this.fetch(`${this.options.serverUrl}/.well-known/openid-configuration`);
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Checks an access token without calling the auth server (signature by its JWKS, iss, aud, typ, alg, exp). */
  async verifyAccessToken(token: string): Promise<VerifiedToken> {
    this.verifyOptions ??= {
      issuer: (this.configuration ?? (await this.discover())).serverMetadata().issuer,
      audience: this.options.clientId,
      typ: 'at+jwt',
      algorithms: this.options.algorithms,
      clockTolerance: this.options.clockToleranceSeconds,
      requiredClaims: ['exp', 'iat', 'sub'],
    };
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.jwks.getKey, this.verifyOptions));
    } catch (cause) {
      if (isUnreachable(cause)) throw new AuthError('auth_unavailable', 'the auth server signing keys cannot be fetched', { cause });
      throw new AuthError('invalid_token', `invalid access token: ${messageOf(cause)}`, { cause });
    }
    const user = userFromClaims(claims);
    if (await this.sessionHasEnded(user.sid, user.sub, claims.iat)) {
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
    const configuration = this.configuration ?? (await this.discover());
    this.requests.introspection++;
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

  /**
   * Checks an access token per policy:
   * - 'offline': signature and claims only; a revoked token works until it expires (at most 15 minutes).
   * - 'introspect-cached' (default): plus introspection, cached; revocation takes effect within AUTH_CACHE_TTL.
   * - 'introspect': plus live introspection on every call; revocation takes effect at once.
   * Sessions ended by back-channel logout are refused at once under every policy.
   * When the auth server is unreachable the introspecting policies fall back to the offline check, unless failClosed.
   * With options.legacy, the instance's own HS256 tokens are accepted too (checkedBy 'legacy'). With
   * options.resolveUser, the user is the instance's local one (service tokens excepted: they belong to no user).
   */
  async validateToken(token: string, options: ValidateOptions = {}): Promise<VerifiedToken> {
    const verified = await this.checkToken(token, options);
    const { resolveUser } = this.options;
    if (!resolveUser || isServiceToken(verified)) return verified;
    return { ...verified, user: await resolveUser(verified.user, this) };
  }

  /** validateToken before resolveUser: the legacy HS256 check when enabled and the token is HS256, else per policy. */
  private async checkToken(token: string, options: ValidateOptions): Promise<VerifiedToken> {
    if (this.options.legacy) {
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (cause) {
        throw new AuthError('invalid_token', 'malformed token', { cause });
      }
      if (alg === 'HS256') {
        const user = await verifyLegacyToken(token, this.options.legacy.secret, this.options.clockToleranceSeconds);
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


  /** An access token for this instance itself (client_credentials), reused until shortly before it expires. */
  async getServiceToken(): Promise<string> {
    if (this.serviceToken && this.serviceToken.renewAt > Date.now()) return this.serviceToken.value;
    this.serviceTokenInflight ??= (async () => {
      try {
        const configuration = this.configuration ?? (await this.discover());
        this.requests.serviceToken++;
        const response = await oidc.clientCredentialsGrant(configuration);
        const lifetimeMs = (response.expires_in ?? 60) * 1000;
        this.serviceToken = { value: response.access_token, renewAt: Date.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 10) };
        return response.access_token;
      } catch (cause) {
        if (cause instanceof AuthError) throw cause;
        throw new AuthError('auth_unavailable', `no service token: ${messageOf(cause)}`, { cause });
      } finally {
        this.serviceTokenInflight = undefined;
      }
    })();
    return this.serviceTokenInflight;
  }

  /**
   * Records the user's id in this instance's own database at the auth server (PUT /users/:sub/access/local-id, with
   * the service token), so that the user's next tokens carry it. AuthError local_user_conflict when another account
   * of this instance holds that id.
   */
  async recordLocalUserId(sub: string, localUserId: number): Promise<void> {
    const response = await this.fetch(`${this.options.serverUrl}/users/${encodeURIComponent(sub)}/access/local-id`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${await this.getServiceToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ localUserId }),
    });
    if (response.status === 204) return;
    const detail = ((await response.json().catch(() => ({}))) as { detail?: string }).detail ?? `HTTP ${response.status}`;
    if (response.status === 409) throw new AuthError('local_user_conflict', `local user ${localUserId}: ${detail}`);
    throw new AuthError(response.status >= 500 ? 'auth_unavailable' : 'configuration', `recording local user ${localUserId} failed: ${detail}`);
  }

  /** Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6). */
  async verifyLogoutToken(logoutToken: string): Promise<SessionEnd> {
    const configuration = this.configuration ?? (await this.discover());
    let claims: JWTPayload;
    try {
      const verified = await jwtVerify(logoutToken, this.jwks.getKey, {
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

  /** Verifies a logout token, then ends the matching local sessions at once (tokens, browser sessions, sockets). */
  async handleLogoutToken(logoutToken: string): Promise<SessionEnd> {
    const ended = await this.verifyLogoutToken(logoutToken);
    await this.endSession(ended);
    return ended;
  }

  /** Ends a session locally: its tokens are refused from now on and its browser sessions and sockets end. */
  async endSession(ended: SessionEnd): Promise<void> {
    if (ended.sid) await this.store.set(`ended-sid:${ended.sid}`, '1', ENDED_SESSION_TTL_MS);
    else if (ended.sub) await this.store.set(`ended-sub:${ended.sub}`, String(Math.floor(Date.now() / 1000)), ENDED_SESSION_TTL_MS);
    await this.sessions.endMatching(ended);
    this.emit('session-ended', ended);
  }

  private async sessionHasEnded(sid: string | null, sub: string, iat: number | undefined): Promise<boolean> {
    const store = this.store;
    const read = store instanceof MemoryStore ? (key: string) => store.getNow(key) : null;
    if (sid) {
      const marker = read ? read(`ended-sid:${sid}`) : await store.get(`ended-sid:${sid}`);
      if (marker) return true;
    }
    const endedAt = read ? read(`ended-sub:${sub}`) : await store.get(`ended-sub:${sub}`);
    return endedAt !== null && (iat ?? 0) <= Number(endedAt);
  }

  private async loadJwks(): Promise<JSONWebKeySet> {
    const configuration = this.configuration ?? (await this.discover());
    const uri = configuration.serverMetadata().jwks_uri;
    if (!uri) throw new AuthError('configuration', 'the auth server publishes no jwks_uri');
    this.requests.jwks++;
    const response = await this.fetch(uri, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new AuthError('auth_unavailable', `JWKS fetch answered ${response.status}`);
    return (await response.json()) as JSONWebKeySet;
  }

  private markDegraded(error: unknown): void {
    const lastError = messageOf(error);
    if (this.currentStatus.state === 'degraded') {
      this.currentStatus.lastError = lastError;
      return;
    }
    this.currentStatus = { state: 'degraded', since: new Date(), lastError };
    this.options.logger.warn('auth server unreachable: offline token checks only, new sign-ins refused', { error: lastError });
    this.emit('degraded', this.status);
    this.probeTimer = setInterval(() => void this.checkReachable(), this.options.probeIntervalSeconds * 1000);
    this.probeTimer.unref();
  }

  private markReachable(): void {
    if (this.currentStatus.state === 'ok') return;
    const wasDegraded = this.currentStatus.state === 'degraded';
    this.currentStatus = { state: 'ok', since: new Date(), lastError: null };
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    if (wasDegraded) {
      this.options.logger.info('auth server reachable again');
      this.emit('recovered', this.status);
    }
  }

  /** Express/Connect middleware: req.user, or 401/403/503. */
  express(options: MiddlewareOptions = {}) {
    return expressMiddleware(this, options);
  }

  /** Koa middleware: ctx.state.user, or 401/403/503. */
  koa(options: MiddlewareOptions = {}) {
    return koaMiddleware(this, options);
  }

  /** Socket.IO middleware for io.use(): socket.authenticated, socket.user; sockets of ended sessions disconnected. */
  socketIo(options: SocketMiddlewareOptions = {}) {
    const middleware = socketMiddleware(this, options);
    this.trackers.push(middleware.tracker);
    return middleware;
  }

  /** The login, callback, logout and back-channel logout routes, as one Express/Connect handler. */
  browserRoutes(options: BrowserRoutesOptions) {
    return browserRoutes(this, options);
  }

  /** Stops the background probe (the client holds no other resources). */
  close(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    for (const tracker of this.trackers) tracker.close();
  }
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}
