// CSRF protection for the server's own forms: every form carries a `_csrf` token that only this server can compute,
// bound to the signed-in person's provider session (its uid), or, before anyone is signed in (the first-run form), to
// a random HttpOnly cookie of this browser. A post whose token does not match its binding is refused with 403.
// Hand-written on purpose: the Koa CSRF libraries (koa-csrf and the `csrf` package under it) keep their secret in
// koa-session, which this server does not use; its session is oidc-provider's, and an HMAC of that session's uid
// under a key derived from AUTH_SECRET_KEY needs no storage, works on every node and ends with the session.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { deriveKey } from '../security/secret-box.js';
import { renderPage } from './page.js';

/** The form field every page's forms carry (views/web/partials/csrf.ejs). */
export const CSRF_FIELD = '_csrf';

const BROWSER_COOKIE = 'web.csrf';

function hmac(key: Buffer, binding: string): Buffer {
  return createHmac('sha256', key).update(binding).digest();
}

/** What a token is bound to: the provider session when someone is signed in, else this browser's cookie. */
function bindingOf(ctx: Context): string {
  const sessionUid = (ctx.state.viewer as { sessionUid?: string } | undefined)?.sessionUid;
  if (sessionUid) return `session:${sessionUid}`;
  let browser = ctx.cookies.get(BROWSER_COOKIE);
  if (!browser || !/^[\w-]{43}$/.test(browser)) {
    browser = randomBytes(32).toString('base64url');
    ctx.cookies.set(BROWSER_COOKIE, browser, { httpOnly: true, sameSite: 'lax', overwrite: true });
  }
  return `browser:${browser}`;
}

function submittedToken(ctx: Context): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  return typeof value === 'string' ? value : '';
}

/**
 * Sets `ctx.state.csrfToken` for the page's forms; on a POST, first checks the submitted `_csrf` (the form must be
 * parsed before: WebGuards.form). Tokens minted under a previous AUTH_SECRET_KEY still pass during a key rotation.
 */
export function csrfProtection(secretKeys: readonly string[]): Middleware {
  const keys = secretKeys.map((secret) => deriveKey(secret, 'web-csrf'));
  const current = keys[0] as Buffer;

  function matches(binding: string, token: string): boolean {
    const given = Buffer.from(token, 'base64url');
    return keys.some((key) => {
      const expected = hmac(key, binding);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }

  return async function checkCsrf(ctx, next) {
    const binding = bindingOf(ctx);
    ctx.state.csrfToken = hmac(current, binding).toString('base64url');
    if (ctx.method === 'POST' && !matches(binding, submittedToken(ctx))) {
      return renderPage(
        ctx,
        'refused',
        {
          title: 'This form has expired',
          message: 'The form was sent without the check this page puts in it, or from a page opened before you signed in again. Go back, reload the page and try once more.',
        },
        403,
      );
    }
    await next();
  };
}
