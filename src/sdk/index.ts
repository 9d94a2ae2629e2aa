// chillfi3-auth/sdk: the instance SDK. Speaks only OIDC/OAuth to the auth server; imports nothing from it.
import { AuthClient, createAuthClient } from './auth-client.js';
import { optionsFromEnv, type AuthClientOptions } from './options.js';

export { AuthClient, createAuthClient };
export type { AuthStatus } from './auth-server-connection.js';
export type { SessionEnd } from './session-ends.js';
export type { RevocationNotice } from './revocation-subscription.js';
export type { IntrospectionResult, ValidateOptions, VerifiedToken } from './token-validator.js';
export type { AuthUser } from './auth-user.js';
export { chillfi3Metadata, enrol, enrolmentEnv, type EnrolOptions, type Enrolment } from './enrol.js';
export { AuthError, isUnreachable, UserApiError, type AuthErrorCode } from './errors.js';
export { MemoryStore, NodeRedisStore, RedisStore, type KeyValueStore, type NodeRedisLike, type RedisLike } from './key-value-store.js';
export { optionsFromEnv, type AuthClientOptions, type Logger, type ValidationPolicy } from './options.js';
export type { BrowserSession, SessionManager } from './session-manager.js';
export {
  authenticateCredentials,
  bearerToken,
  presentedAccessToken,
  sessionIdFrom,
  socketCredentials,
  SESSION_COOKIE,
  type Credentials,
  type MiddlewareOptions,
} from './request-auth.js';
export {
  UserApiClient,
  type CallOptions,
  type NewUser,
  type ProfileChanges,
  type RegisteredUser,
  type UserApiCaller,
  type UserProfile,
} from './user-api-client.js';
export { expressMiddleware, sendAuthError, type AuthenticatedRequest } from './express-middleware.js';
export { koaMiddleware, type KoaContextLike } from './koa-middleware.js';
export { hasMfa, koaRequireMfa, MFA, requireMfa, socketRequireMfa, type RequireMfaOptions } from './require-mfa.js';
export {
  socketMiddleware,
  SocketTracker,
  SESSION_ENDED_EVENT,
  WHOAMI_EVENT,
  whoAmI,
  type SocketLike,
  type SocketMiddleware,
  type SocketMiddlewareOptions,
} from './socket-middleware.js';
export { browserRoutes, type BrowserRoutesOptions } from './browser-routes.js';
export { resolveLocalUsers, type LocalUser, type LocalUserStore, type ResolveUser } from './local-users.js';
export { chillfi3Users, type MysqlPoolLike } from './chillfi3-users.js';

/** A client configured from AUTH_SERVER_URL, AUTH_API_KEY, AUTH_API_SECRET, AUTH_CACHE_TTL and AUTH_TIMEOUT, plus overrides. */
export function fromEnv(env: Record<string, string | undefined> = process.env, overrides: Partial<AuthClientOptions> = {}): AuthClient {
  return createAuthClient({ ...optionsFromEnv(env), ...overrides });
}
