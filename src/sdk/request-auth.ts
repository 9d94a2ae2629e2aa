// What every middleware does with a request: take the bearer token or the session cookie, check it, and answer
// errors the way ChillFi3 does today (401 without a token, 403 for a bad one, 503 when a live check is impossible).
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseCookies } from 'cookie';
import type { AuthClient } from './auth-client.js';
import { isServiceToken, type ValidateOptions, type VerifiedToken } from './token-validator.js';
import { AuthError } from './errors.js';

/** The default name of the browser session cookie (options.sessionCookieName). */
export const SESSION_COOKIE = 'chillfi3_session';

export interface MiddlewareOptions extends ValidateOptions {
  /** When false, requests without credentials pass with user = null (bad credentials are still refused). Default true. */
  required?: boolean;
  /** Accept this instance's own client_credentials tokens, which belong to no user. Default false (403). */
  allowServiceTokens?: boolean;
}

export interface Credentials {
  /** An Authorization header value ("Bearer ..."). */
  authorization?: string | undefined;
  /** A Cookie header value. */
  cookie?: string | undefined;
}

/** A Socket.IO handshake's credentials: its auth.token (as a bearer token) and its Cookie header. */
export function socketCredentials(socket: { handshake: { auth: Record<string, unknown>; headers: IncomingHttpHeaders } }): Credentials {
  const token = socket.handshake.auth?.token;
  return { authorization: typeof token === 'string' && token ? `Bearer ${token}` : undefined, cookie: socket.handshake.headers.cookie };
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

export function sessionIdFrom(cookieHeader: string | undefined, name = SESSION_COOKIE): string | undefined {
  if (!cookieHeader) return undefined;
  return parseCookies(cookieHeader)[name] || undefined;
}

/**
 * An Authorization header that carries no token: empty, a bare "Bearer", or what a browser script sends from an empty
 * localStorage (ChillFi3's client: `Bearer ${localStorage.getItem('chillfi_token')}` is "Bearer null").
 */
const NO_TOKEN = /^\s*(?:Bearer(?:\s+(?:null|undefined))?)?\s*$/i;

/**
 * The access token credentials present, unchecked: the bearer token or, when there is no token (NO_TOKEN), the browser
 * session's; throws AuthError (missing_token when there is neither, invalid_token for a malformed header).
 */
export async function presentedAccessToken(client: AuthClient, credentials: Credentials): Promise<string> {
  const authorization = NO_TOKEN.test(credentials.authorization ?? '') ? undefined : credentials.authorization;
  const token = bearerToken(authorization);
  if (token) return token;
  if (authorization) throw new AuthError('invalid_token', 'malformed Authorization header');
  const sessionId = sessionIdFrom(credentials.cookie, client.options.sessionCookieName);
  const session = sessionId ? await client.sessions.current(sessionId) : null;
  if (session) return session.accessToken;
  throw new AuthError('missing_token', 'Access token required');
}

/** The user behind the access token credentials present (presentedAccessToken); throws AuthError. */
export async function authenticateCredentials(
  client: AuthClient,
  credentials: Credentials,
  options: MiddlewareOptions = {},
): Promise<VerifiedToken> {
  const verified = await client.validateToken(await presentedAccessToken(client, credentials), options);
  if (isServiceToken(verified) && !options.allowServiceTokens) throw new AuthError('invalid_token', 'a service token belongs to no user');
  return verified;
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: string; message: string };
}

/** The HTTP answer for an authentication failure. */
export function errorResponse(error: unknown): ErrorResponse {
  const authError = error instanceof AuthError ? error : new AuthError('auth_unavailable', 'authentication failed', { cause: error });
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (authError.status === 401) headers['www-authenticate'] = 'Bearer';
  if (authError.status === 403) headers['www-authenticate'] = 'Bearer error="invalid_token"';
  if (authError.status === 503) headers['retry-after'] = '5';
  return { status: authError.status, headers, body: { error: authError.code, message: authError.message } };
}
