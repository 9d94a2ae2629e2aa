// Who is signed in on the server's own pages, and the guards every page route composes. The pages sign in through
// this server's provider like an instance (the built-in client of src/provider/console-client.ts, on the normal
// sign-in page with its lockout, rate limits and audit), and their session IS the provider's SSO session: signing in
// here signs in to the instances too, and ending that session anywhere signs the pages out.
import { randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import type { Account } from '../accounts/account-entity.js';
import { BadRequest } from '../errors.js';
import { ACR_MFA } from '../mfa/assurance.js';
import { CONSOLE_CLIENT_ID, WEB_CALLBACK_PATH } from '../provider/console-client.js';
import { ROUTES } from '../provider/routes.js';
import type { Services } from '../services.js';
import { csrfProtection } from './csrf.js';
import { renderPage } from './page.js';

export interface Viewer {
  account: Account;
  /** The provider session's public handle (src/provider/account-sessions.ts ends sessions by it). */
  sessionUid: string;
  /** When this person last entered their password, epoch seconds. */
  authTime: number;
  /** How the session signed in: ACR_MFA with a second factor (src/mfa/assurance.ts). */
  acr: string | undefined;
}

/**
 * Deleting users or instances, rotating keys and secrets, and handing out a way into an account (a set-password link,
 * a new account, admin rights): only within this long of entering the password.
 */
export const FRESH_SIGN_IN_SECONDS = 600;

/** Whether the viewer entered their password (or used a passkey) within FRESH_SIGN_IN_SECONDS. */
export function isFreshSignIn(viewer: Viewer, now = Date.now()): boolean {
  return Math.floor(now / 1000) - viewer.authTime <= FRESH_SIGN_IN_SECONDS;
}

export interface WebGuards {
  /** Sets ctx.state.viewer; a signed-out GET goes to sign in and comes back, a signed-out POST gets 303 to sign in. */
  signedIn: Middleware;
  /** After signedIn: non-admins get a friendly 403 page. */
  admin: Middleware;
  /**
   * After signedIn: a sign-in older than FRESH_SIGN_IN_SECONDS asks for the password again (and the second factor,
   * when the account has one: the sign-in step asks it at every sign-in), then comes back.
   */
  fresh: Middleware;
  /** Sets ctx.state.csrfToken for the page; on POST checks the `_csrf` field (after form). */
  csrf: Middleware;
  /** Parses an urlencoded form body. */
  form: Middleware;
}

/** Where the browser goes when nothing better is known. */
export const HOME_PATH = '/account';

const SIGN_IN_COOKIE_PREFIX = 'web.signin.';
/** Time to get through the sign-in page (a password manager, a typo, a second try). */
const SIGN_IN_MAX_AGE_MS = 15 * 60_000;

/** `value` when it is a path on this server (`/x?y`), else null: never an absolute or protocol-relative URL. */
export function localPath(value: unknown): string | null {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || /[\\\p{C}]/u.test(value)) return null;
  const base = 'http://local.invalid';
  const url = URL.parse(value, base);
  return url && url.origin === base ? `${url.pathname}${url.search}` : null;
}

/** The path of the page a form was posted from, when the browser says and it is this server's. */
function refererPath(ctx: Context, issuer: string): string | null {
  const referer = URL.parse(ctx.get('referer'));
  return referer && referer.origin === new URL(issuer).origin ? localPath(`${referer.pathname}${referer.search}`) : null;
}

interface PendingSignIn {
  state: string;
  returnTo: string;
}

function signInCookie(state: string): string {
  return `${SIGN_IN_COOKIE_PREFIX}${state}`;
}

const signInCookieOptions = { signed: true, httpOnly: true, sameSite: 'lax', path: WEB_CALLBACK_PATH, overwrite: true } as const;

/**
 * Sends the browser to the provider's authorization endpoint for the console client, to come back to `returnTo`
 * (a local path). The state is kept in a short-lived signed cookie of its own, so sign-ins started in two tabs both
 * finish. `fresh` asks for the password even with a live session.
 */
export function redirectToSignIn(ctx: Context, issuer: string, returnTo: string, { fresh = false } = {}): void {
  const state = randomBytes(16).toString('base64url');
  const pending: PendingSignIn = { state, returnTo: localPath(returnTo) ?? HOME_PATH };
  ctx.cookies.set(signInCookie(state), Buffer.from(JSON.stringify(pending)).toString('base64url'), { ...signInCookieOptions, maxAge: SIGN_IN_MAX_AGE_MS });
  const url = new URL(`${issuer}${ROUTES.authorization}`);
  url.search = new URLSearchParams({
    client_id: CONSOLE_CLIENT_ID,
    response_type: 'none',
    scope: 'openid',
    redirect_uri: `${issuer}${WEB_CALLBACK_PATH}`,
    state,
    ...(fresh ? { prompt: 'login', max_age: '0' } : {}),
  }).toString();
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(url.toString());
  // After a form post the browser must GET the sign-in page, not post the form to it.
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') ctx.status = 303;
}

/** The sign-in this callback finishes, by its state; the cookie is cleared. BadRequest when it is not ours. */
export function finishSignIn(ctx: Context, state: string): PendingSignIn {
  const cookie = /^[\w-]{22}$/.test(state) ? ctx.cookies.get(signInCookie(state), { signed: true }) : undefined;
  if (!cookie) throw new BadRequest('this sign-in expired or was not started here: open the page again to sign in');
  ctx.cookies.set(signInCookie(state), null, signInCookieOptions);
  const pending = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8')) as PendingSignIn;
  if (pending.state !== state) throw new BadRequest('this sign-in expired or was not started here: open the page again to sign in');
  return { state, returnTo: localPath(pending.returnTo) ?? HOME_PATH };
}

/** The person signed in to the provider's SSO session of this browser; a disabled or deleted account is nobody. */
export async function currentViewer(ctx: Context, services: Services): Promise<Viewer | null> {
  // Read at request time: a signing-key rotation replaces the provider.
  const session = await services.provider.Session.get(ctx);
  if (!session.accountId) return null;
  const account = await services.accounts.find(session.accountId);
  if (!account || account.disabled) return null;
  return { account, sessionUid: session.uid, authTime: session.authTime() ?? 0, acr: session.acr };
}

function isReading(ctx: Context): boolean {
  return ctx.method === 'GET' || ctx.method === 'HEAD';
}

export function webGuards(services: Services): WebGuards {
  const { issuer } = services.config;

  /** Where to come back to after signing in: this page, or for a form the page it was posted from. */
  function comeBackTo(ctx: Context): string {
    return isReading(ctx) ? ctx.originalUrl : (refererPath(ctx, issuer) ?? HOME_PATH);
  }

  return {
    signedIn: async function signedIn(ctx, next) {
      const viewer = await currentViewer(ctx, services);
      if (!viewer) return redirectToSignIn(ctx, issuer, comeBackTo(ctx));
      ctx.state.viewer = viewer;
      await next();
    },
    admin: async function adminOnly(ctx, next) {
      const viewer = ctx.state.viewer as Viewer;
      // MFA_REQUIRED_FOR_ADMINS: a session made without a second factor (through an instance) steps up first; the
      // console's sign-in demands it (src/provider/second-factor-check.ts), or walks the admin through enrolment.
      if (viewer.account.isAdmin && services.config.mfaRequiredForAdmins && viewer.acr !== ACR_MFA) {
        return redirectToSignIn(ctx, issuer, comeBackTo(ctx));
      }
      if (viewer.account.isAdmin) return next();
      await renderPage(
        ctx,
        'refused',
        { title: 'For admins only', message: 'This part of the server is for its admins. Your own account is on the Account page.' },
        403,
      );
    },
    fresh: async function freshSignIn(ctx, next) {
      if (isFreshSignIn(ctx.state.viewer as Viewer)) return next();
      redirectToSignIn(ctx, issuer, comeBackTo(ctx), { fresh: true });
    },
    csrf: csrfProtection([services.config.secretKey, ...services.config.previousSecretKeys]),
    form: koaBody({
      urlencoded: true,
      json: false,
      multipart: false,
      text: false,
      formLimit: '32kb',
      // The parser's own 4xx (too large, bad charset) passes as it is; anything else it throws is the client's
      // unreadable form, not our fault.
      onError: (error) => {
        throw 'status' in error ? error : new BadRequest('the form could not be read', error);
      },
    }),
  };
}
