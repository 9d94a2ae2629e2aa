// requireMfa(): a guard, after the authentication middleware, for the routes that need a sign-in with a second factor
// (an admin panel). A user signed in with one (`amr` holds 'mfa') passes. A browser asking for a page is sent to sign
// in again with acr_values=mfa (the browser routes' login, which comes back to the page): the auth server asks only
// for the second factor, or walks the user through setting one up. Anything else gets RFC 9470's 401
// insufficient_user_authentication, which says what to ask for. Express, Koa and Socket.IO, with no framework import.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthUser } from './auth-user.js';
import type { KoaContextLike } from './koa-middleware.js';
import type { SocketLike } from './socket-middleware.js';

/** The acr value of a sign-in with a second factor, and the amr value that says two were used (RFC 8176). */
export const MFA = 'mfa';

export interface RequireMfaOptions {
  /** The browser routes' login path (browserRoutes' prefix + '/login'). Default '/auth/login'. */
  loginPath?: string;
}

/** Whether `user` signed in with a second factor. */
export function hasMfa(user: AuthUser | null | undefined): boolean {
  return Boolean(user && (user.amr.includes(MFA) || user.acr === MFA));
}

interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The answer to a request without a second factor: where a browser goes, or the RFC 9470 challenge. */
function refusal(method: string | undefined, accept: string | undefined, url: string, loginPath: string): Refusal {
  const wantsPage = (method === 'GET' || method === 'HEAD') && /\btext\/html\b/.test(accept ?? '');
  if (wantsPage) {
    const location = `${loginPath}?${new URLSearchParams({ returnTo: url, acr_values: MFA })}`;
    return { status: 302, headers: { location, 'cache-control': 'no-store' }, body: null };
  }
  return {
    status: 401,
    headers: {
      'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="a sign-in with a second factor is required", acr_values="${MFA}"`,
      'cache-control': 'no-store',
    },
    body: { error: 'insufficient_user_authentication', message: 'a sign-in with a second factor is required', acr_values: MFA },
  };
}

/** Express/Connect: after expressMiddleware (req.user set). */
export function requireMfa({ loginPath = '/auth/login' }: RequireMfaOptions = {}) {
  return function chillfi3RequireMfa(
    req: IncomingMessage & { user?: AuthUser | null; originalUrl?: string },
    res: ServerResponse,
    next: (error?: unknown) => void,
  ): void {
    if (hasMfa(req.user)) return next();
    const answer = refusal(req.method, req.headers.accept, req.originalUrl ?? req.url ?? '/', loginPath);
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    if (answer.body === null) return void res.end();
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(answer.body));
  };
}

/** Koa: after koaMiddleware (ctx.state.user set). */
export function koaRequireMfa({ loginPath = '/auth/login' }: RequireMfaOptions = {}) {
  return async function chillfi3RequireMfa(ctx: KoaContextLike & { originalUrl?: string }, next: () => Promise<unknown>): Promise<void> {
    if (hasMfa(ctx.state.user as AuthUser | null | undefined)) {
      await next();
      return;
    }
    const answer = refusal(ctx.req.method, ctx.req.headers.accept, ctx.originalUrl ?? ctx.req.url ?? '/', loginPath);
    for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
    ctx.status = answer.status;
    ctx.body = answer.body ?? '';
  };
}

/**
 * Socket.IO: after socketMiddleware (socket.user set), on a namespace that needs it (`io.of('/admin').use(...)`). The
 * connection is refused with `data: { error: 'insufficient_user_authentication', acr_values: 'mfa', status: 401 }`:
 * the client sends the browser to sign in again with acr_values=mfa.
 */
export function socketRequireMfa() {
  return function chillfi3RequireMfa(socket: SocketLike, next: (error?: Error) => void): void {
    if (hasMfa(socket.user)) return next();
    next(
      Object.assign(new Error('a sign-in with a second factor is required'), {
        data: { error: 'insufficient_user_authentication', acr_values: MFA, status: 401 },
      }),
    );
  };
}
