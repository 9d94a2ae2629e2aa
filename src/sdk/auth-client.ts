// The instance's client of the auth server, the SDK's facade: reaching the server (auth-server-connection.ts), access
// token checks (token-validator.ts), the service token (service-token.ts), back-channel logout (session-ends.ts),
// and the middleware and routes built on them. Emits the reachability state the host app can watch.
import { EventEmitter } from 'node:events';
import type * as oidc from 'openid-client';
import { AuthServerConnection, type AuthServerFetch, type AuthServerRequests, type AuthStatus } from './auth-server-connection.js';
import { AuthError } from './errors.js';
import { MemoryStore, RedisStore, type KeyValueStore } from './key-value-store.js';
import { resolveOptions, type AuthClientOptions, type ResolvedOptions } from './options.js';
import { SessionEnds, type SessionEnd } from './session-ends.js';
import { ServiceToken } from './service-token.js';
import { SessionManager } from './session-manager.js';
import { isServiceToken, TokenValidator, type IntrospectionResult, type ValidateOptions, type VerifiedToken } from './token-validator.js';
import { expressMiddleware } from './express-middleware.js';
import { koaMiddleware } from './koa-middleware.js';
import { socketMiddleware, type SocketMiddlewareOptions } from './socket-middleware.js';
import { browserRoutes, type BrowserRoutesOptions } from './browser-routes.js';
import type { MiddlewareOptions } from './request-auth.js';
import { UserApiClient } from './user-api-client.js';
import { RevocationSubscription, type RevocationNotice } from './revocation-subscription.js';

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
  readonly requests: AuthServerRequests;
  /** fetch with the AUTH_TIMEOUT, recording whether the auth server answers. Used for every call to the server. */
  readonly fetch: AuthServerFetch;
  /** The auth server's user API: register (with a role here), read, update, delete, set-password links, own passwords. */
  readonly users: UserApiClient;

  private readonly connection: AuthServerConnection;
  private readonly validator: TokenValidator;
  private readonly serviceToken: ServiceToken;
  private readonly sessionEnds: SessionEnds;
  private readonly trackers: { close(): void }[] = [];
  /** The revocation stream, when options.revocationStream is on. */
  readonly revocations: RevocationSubscription | undefined;

  constructor(options: AuthClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.store = this.options.store ?? (this.options.redis ? new RedisStore(this.options.redis, this.options.redisPrefix) : new MemoryStore());
    this.connection = new AuthServerConnection(this.options, (event, status) => this.emit(event, status), this);
    this.fetch = this.connection.timedFetch;
    this.requests = this.connection.requests;
    this.sessionEnds = new SessionEnds(this.options, this.store, this.connection);
    this.validator = new TokenValidator(this.options, this.store, this.connection, this.sessionEnds);
    this.serviceToken = new ServiceToken(this.connection);
    this.sessions = new SessionManager(this);
    this.users = new UserApiClient(this);
    if (this.options.revocationStream) {
      this.revocations = new RevocationSubscription(
        this.options,
        // Not the timed fetch: the stream stays open; its silence is watched instead. Pinned like every other call.
        (url, init) => this.connection.transport(url, init),
        (notice) => this.applyRevocation(notice),
        (connected) => this.emit(connected ? 'revocations-connected' : 'revocations-disconnected'),
      );
      this.revocations.start();
    }
  }

  /**
   * What an event of the revocation stream ends here, at once: an ended session's tokens, browser sessions and
   * sockets; a revoked grant's or token's tokens; every token and session of a user disabled, deleted, or whose access
   * here was removed or changed (they sign in again, with their new role); the keys are fetched again when they
   * changed. Emits 'revocation' (RevocationNotice) for the host app.
   */
  async applyRevocation(notice: RevocationNotice): Promise<void> {
    switch (notice.type) {
      case 'session.ended':
        if (notice.sid || notice.sub) await this.endSession({ sid: notice.sid ?? null, sub: notice.sub ?? null });
        break;
      case 'grant.revoked':
      case 'token.revoked':
        await this.sessionEnds.markRevoked({ grantId: notice.grantId, jti: notice.jti });
        break;
      case 'account.disabled':
      case 'account.deleted':
      case 'access.revoked':
      case 'access.changed':
        if (notice.sub) await this.endSession({ sid: null, sub: notice.sub });
        break;
      case 'keys.changed':
        await this.connection.jwks.refresh().catch(() => undefined);
        break;
      case 'secret.rotated':
        this.options.logger.warn('the auth server rotated this instance\'s client secret: set AUTH_API_SECRET to the new one before its grace ends');
        break;
      case 'reset':
        this.options.logger.warn('revocation events were missed (the stream was away longer than the server keeps them): cached checks expire within AUTH_CACHE_TTL');
        break;
      default:
        break;
    }
    this.emit('revocation', notice);
  }

  /** ok, degraded (the auth server is unreachable: offline checks only, no new sign-ins) or unknown (not contacted yet). */
  get status(): AuthStatus {
    return this.connection.status;
  }

  get jwksFetches(): number {
    return this.connection.jwks.fetches;
  }

  /** The auth server's metadata and this client's configuration (discovered once, retried after a failure). */
  discover(): Promise<oidc.Configuration> {
    return this.connection.discover();
  }

  /** Asks the auth server whether it answers (its discovery document); updates status. */
  checkReachable(): Promise<boolean> {
    return this.connection.checkReachable();
  }

  /** Checks an access token without calling the auth server (signature by its JWKS, iss, aud, typ, alg, exp). */
  verifyAccessToken(token: string): Promise<VerifiedToken> {
    return this.validator.verifyAccessToken(token);
  }

  /** RFC 7662 introspection. Results are cached for min(token expiry, AUTH_CACHE_TTL) unless cached is false. */
  introspect(token: string, options: { cached?: boolean } = {}): Promise<IntrospectionResult> {
    return this.validator.introspect(token, options);
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
    const verified = await this.validator.checkToken(token, options);
    const { resolveUser } = this.options;
    if (!resolveUser || isServiceToken(verified)) return verified;
    return { ...verified, user: await resolveUser(verified.user, this) };
  }

  /**
   * An access token for this instance itself (client_credentials), reused until shortly before it expires; with
   * `scope`, one carrying those scopes (among those the instance is allowed, e.g. users:read).
   */
  getServiceToken(scope?: string): Promise<string> {
    return this.serviceToken.get(scope);
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
  verifyLogoutToken(logoutToken: string): Promise<SessionEnd> {
    return this.sessionEnds.verifyLogoutToken(logoutToken);
  }

  /** Verifies a logout token, then ends the matching local sessions at once (tokens, browser sessions, sockets). */
  async handleLogoutToken(logoutToken: string): Promise<SessionEnd> {
    const ended = await this.verifyLogoutToken(logoutToken);
    await this.endSession(ended);
    return ended;
  }

  /** Ends a session locally: its tokens are refused from now on and its browser sessions and sockets end. */
  async endSession(ended: SessionEnd): Promise<void> {
    await this.sessionEnds.mark(ended);
    await this.sessions.endMatching(ended);
    this.emit('session-ended', ended);
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
    this.revocations?.stop();
    this.connection.stopProbe();
    for (const tracker of this.trackers) tracker.close();
  }
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}
