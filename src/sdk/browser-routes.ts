// Browser sign-in for the instance, as one Express/Connect handler:
//   GET  {prefix}/login                 → authorization code + PKCE at the auth server (state, nonce, verifier kept here);
//                                         ?acr_values=mfa asks for a second factor (requireMfa sends browsers here)
//   GET  {prefix}/callback              → tokens into a server-side session, HttpOnly session cookie to the browser
//   POST|GET {prefix}/logout            → local session ended, then RP-initiated logout at the auth server
//   POST {prefix}/backchannel-logout    → the auth server ends a session: local sessions, tokens and sockets end at once
//   GET  {prefix}/me                    → who is signed in (session cookie, or a bearer token): {user}, else 401
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseCookies, serialize as serializeCookie, type SerializeOptions } from 'cookie';
import * as oidc from 'openid-client';
import type { AuthClient } from './auth-client.js';
import { AuthError, isUnreachable } from './errors.js';
import { sendAuthError } from './express-middleware.js';
import { authenticateCredentials, sessionIdFrom } from './request-auth.js';
import { MFA } from './require-mfa.js';

const LOGIN_TTL_MS = 10 * 60 * 1000;

export interface BrowserRoutesOptions {
  /** This instance's public URL, e.g. https://music.example.com (the redirect URIs registered at the auth server derive from it). */
  baseUrl: string;
  /** Where the routes live. Default '/auth' (so the redirect URI is {baseUrl}/auth/callback). */
  prefix?: string;
  /** Where the auth server sends the browser after sign-out. Default '/' ({baseUrl}/ must be a registered post-logout URI). */
  postLogoutPath?: string;
  /** Scopes asked for. Default 'openid profile email'. */
  scope?: string;
}

type Request = IncomingMessage & { originalUrl?: string; body?: unknown };

interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Where to send the browser after sign-in: a path on this instance's own origin, anything else '/'. The value is
 * read with the WHATWG URL parser, as a browser reads a Location header (tabs and newlines dropped, '\' taken for
 * '/', dot segments resolved), and handed back serialized from that parse, so the header says exactly what was
 * checked: a path that resolves to '//host' (from '/\t/host', '/.//host', …) is refused like '//host' itself.
 */
function safeReturnTo(value: string | null, baseUrl: string): string {
  if (!value?.startsWith('/')) return '/';
  const base = new URL(baseUrl);
  const target = URL.parse(value, baseUrl);
  if (!target || target.origin !== base.origin || target.pathname.startsWith('//')) return '/';
  return `${target.pathname}${target.search}${target.hash}`;
}

async function readForm(req: Request): Promise<URLSearchParams> {
  if (req.body && typeof req.body === 'object') return new URLSearchParams(req.body as Record<string, string>);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new AuthError('invalid_logout_token', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Why the auth server's answer to a sign-in brought no tokens. `access_denied` is either a refusal of the account (this
 * server's access policy) or the person's own Cancel; the auth server says which only in error_description (RFC 6749
 * gives a refusal no other field), so the SDK reads the cancellation from it: "the user cancelled the sign-in"
 * (chillfi3-auth's src/interactions/routes.ts), oidc-provider's "End-User aborted interaction".
 */
function callbackFailure(cause: unknown): AuthError {
  if (isUnreachable(cause)) return new AuthError('auth_unavailable', 'the auth server is unreachable', { cause });
  if (cause instanceof oidc.AuthorizationResponseError && cause.error === 'access_denied') {
    const cancelled = /cancel|abort/i.test(cause.error_description ?? '');
    return cancelled
      ? new AuthError('sign_in_cancelled', 'the sign-in was cancelled', { cause })
      : new AuthError('access_denied', `the auth server refused this account here: ${cause.error_description ?? 'access_denied'}`, { cause });
  }
  return new AuthError('sign_in_failed', `sign-in failed: ${(cause as Error).message}`, { cause });
}

export function browserRoutes(client: AuthClient, options: BrowserRoutesOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const prefix = (options.prefix ?? '/auth').replace(/\/+$/, '');
  const secure = baseUrl.startsWith('https:');
  const redirectUri = `${baseUrl}${prefix}/callback`;
  const postLogoutRedirectUri = `${baseUrl}${options.postLogoutPath ?? '/'}`;
  const scope = options.scope ?? 'openid profile email';
  const sessionCookie = client.options.sessionCookieName;
  /** Binds a sign-in to the browser that started it (state, nonce and PKCE verifier stay on the server). */
  const loginCookie = `${sessionCookie}_login`;
  const cookieOptions: SerializeOptions = { httpOnly: true, sameSite: 'lax', secure, path: '/' };

  function setCookies(res: ServerResponse, cookies: string[]): void {
    res.setHeader('set-cookie', cookies);
  }

  function redirect(res: ServerResponse, location: string, cookies: string[] = []): void {
    if (cookies.length) setCookies(res, cookies);
    res.statusCode = 303;
    res.setHeader('location', location);
    res.setHeader('cache-control', 'no-store');
    res.end();
  }

  /**
   * What the page says of a failed sign-in, and the ways on it offers: what helps, never a "try again" that would only
   * repeat a refusal. A refused account is offered another (`signOutUrl`: signed out at the auth server, the browser
   * comes back here to sign in afresh) and its account page at the auth server, which lists the servers it may use.
   */
  function failurePage(error: AuthError, signOutUrl: string): { title: string; hint: string; links: [string, string][] } {
    const accountPage = `${client.options.serverUrl.replace(/\/+$/, '')}/account`;
    switch (error.code) {
      case 'auth_unavailable':
        return {
          title: 'Sign-in is unavailable right now',
          hint: 'The sign-in server cannot be reached. If you are already signed in you can keep using this server; try signing in again in a moment.',
          links: [['/', 'Back']],
        };
      case 'access_denied':
        return {
          title: 'No access to this server',
          hint: 'You are signed in, but your account may not use this server: it is open to the people its admin invited. Ask its admin for access, or sign in with another account.',
          links: [[signOutUrl, 'Sign in as someone else'], [accountPage, 'Your account and the servers you may use']],
        };
      case 'sign_in_cancelled':
        return { title: 'Sign-in cancelled', hint: 'You cancelled the sign-in: nothing was changed.', links: [[`${prefix}/login`, 'Sign in'], ['/', 'Back']] };
      default:
        return { title: 'Sign-in failed', hint: 'Please try signing in again.', links: [[`${prefix}/login`, 'Sign in'], ['/', 'Back']] };
    }
  }

  function fail(req: Request, res: ServerResponse, error: AuthError, cookies: string[] = [], signOutUrl = postLogoutRedirectUri): void {
    if (cookies.length) setCookies(res, cookies);
    res.statusCode = error.status;
    res.setHeader('cache-control', 'no-store');
    if (error.status === 503) res.setHeader('retry-after', '5');
    if ((req.headers.accept ?? '').includes('text/html')) {
      const { title, hint, links } = failurePage(error, signOutUrl);
      const ways = links.map(([href, label]) => `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`).join(' · ');
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>` +
          `<h1 id="auth-error">${title}</h1><p>${escapeHtml(hint)}</p><p>${ways}</p></body></html>`,
      );
      return;
    }
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ error: error.code, message: error.message }));
  }

  async function login(req: Request, res: ServerResponse, url: URL): Promise<void> {
    if (!(await client.checkReachable())) {
      fail(req, res, new AuthError('auth_unavailable', 'the auth server is unreachable: new sign-ins are refused'));
      return;
    }
    const configuration = await client.discover();
    const pending: PendingLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo: safeReturnTo(url.searchParams.get('returnTo'), baseUrl),
    };
    const loginId = randomBytes(24).toString('base64url');
    await client.store.set(`login:${loginId}`, JSON.stringify(pending), LOGIN_TTL_MS);
    const authorizationUrl = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      // Step-up (requireMfa): asks the auth server for a sign-in with a second factor.
      ...(url.searchParams.get('acr_values') === MFA ? { acr_values: MFA } : {}),
    });
    redirect(res, authorizationUrl.href, [
      serializeCookie(loginCookie, loginId, { ...cookieOptions, path: prefix, maxAge: LOGIN_TTL_MS / 1000 }),
    ]);
  }

  async function callback(req: Request, res: ServerResponse, url: URL): Promise<void> {
    const clearLogin = serializeCookie(loginCookie, '', { ...cookieOptions, path: prefix, maxAge: 0 });
    const loginId = parseCookies(req.headers.cookie ?? '')[loginCookie];
    const raw = loginId ? await client.store.get(`login:${loginId}`) : null;
    if (!loginId || !raw) {
      fail(req, res, new AuthError('sign_in_failed', 'the sign-in expired or did not start here'), [clearLogin]);
      return;
    }
    await client.store.delete(`login:${loginId}`);
    const pending = JSON.parse(raw) as PendingLogin;
    let tokens;
    try {
      const configuration = await client.discover();
      tokens = await oidc.authorizationCodeGrant(configuration, url, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (cause) {
      const error = callbackFailure(cause);
      // Refused: the way to another account is out of the auth server's session first (RP-initiated logout without an
      // ID token, by client_id), back to this server's post-logout address, from where the person signs in again.
      const signOutUrl =
        error.code === 'access_denied'
          ? oidc.buildEndSessionUrl(await client.discover(), { post_logout_redirect_uri: postLogoutRedirectUri }).href
          : undefined;
      fail(req, res, error, [clearLogin], signOutUrl);
      return;
    }
    const session = await client.sessions.create(tokens);
    redirect(res, pending.returnTo, [clearLogin, serializeCookie(sessionCookie, session.id, cookieOptions)]);
  }

  async function logout(req: Request, res: ServerResponse): Promise<void> {
    const sessionId = sessionIdFrom(req.headers.cookie, sessionCookie);
    const session = sessionId ? await client.sessions.get(sessionId) : null;
    if (sessionId) await client.sessions.delete(sessionId);
    const clearSession = serializeCookie(sessionCookie, '', { ...cookieOptions, maxAge: 0 });
    if (!session?.idToken || client.status.state === 'degraded') {
      redirect(res, postLogoutRedirectUri, [clearSession]);
      return;
    }
    const configuration = await client.discover();
    const endSessionUrl = oidc.buildEndSessionUrl(configuration, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: postLogoutRedirectUri,
    });
    redirect(res, endSessionUrl.href, [clearSession]);
  }

  async function backchannelLogout(req: Request, res: ServerResponse): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    try {
      const form = await readForm(req);
      const logoutToken = form.get('logout_token');
      if (!logoutToken) throw new AuthError('invalid_logout_token', 'logout_token is missing');
      await client.handleLogoutToken(logoutToken);
      res.statusCode = 200;
      res.end();
    } catch (error) {
      const authError = error instanceof AuthError ? error : new AuthError('invalid_logout_token', 'logout failed', { cause: error });
      client.options.logger.warn('back-channel logout refused', { error: authError.message });
      res.statusCode = authError.code === 'auth_unavailable' ? 503 : 400;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: 'invalid_request', error_description: authError.message }));
    }
  }

  /** For cookie-only clients, which cannot read their token: the user as req.user would be. */
  async function whoAmI(req: Request, res: ServerResponse): Promise<void> {
    try {
      const { user } = await authenticateCredentials(client, { authorization: req.headers.authorization, cookie: req.headers.cookie });
      res.statusCode = 200;
      res.setHeader('cache-control', 'no-store');
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ user }));
    } catch (error) {
      sendAuthError(res, error);
    }
  }

  return function chillfi3BrowserRoutes(req: Request, res: ServerResponse, next: (error?: unknown) => void): void {
    const url = new URL(req.originalUrl ?? req.url ?? '/', baseUrl);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let handler: Promise<void> | undefined;
    if (path === `${prefix}/login` && method === 'GET') handler = login(req, res, url);
    else if (path === `${prefix}/callback` && method === 'GET') handler = callback(req, res, url);
    else if (path === `${prefix}/logout` && (method === 'POST' || method === 'GET')) handler = logout(req, res);
    else if (path === `${prefix}/backchannel-logout` && method === 'POST') handler = backchannelLogout(req, res);
    else if (path === `${prefix}/me` && method === 'GET') handler = whoAmI(req, res);
    if (!handler) {
      next();
      return;
    }
    handler.catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const authError =
        error instanceof AuthError
          ? error
          : isUnreachable(error)
            ? new AuthError('auth_unavailable', 'the auth server is unreachable', { cause: error })
            : new AuthError('sign_in_failed', 'sign-in failed', { cause: error });
      fail(req, res, authError);
    });
  };
}
