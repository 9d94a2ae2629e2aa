// Which accounts have signed in from this browser, for the "sign-in from a new browser" notice: a long-lived,
// signed, HttpOnly cookie listing a keyed hash of each such account (never the id itself, so the cookie tells no one
// who uses the browser). Nothing is stored on the server. A browser that clears its cookies counts as new again,
// which for a notice that says "if it was you, there is nothing to do" is the right side to err on.
import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { deriveKey } from '../security/secret-box.js';

const COOKIE = 'chillfi3.browser';
/** Accounts one browser remembers; the oldest go first. */
const MAX_ACCOUNTS = 10;
const YEAR_MS = 365 * 86_400_000;

export class KnownBrowsers {
  readonly #key: Buffer;

  constructor(secretKey: string) {
    this.#key = deriveKey(secretKey, 'known-browsers');
  }

  #mark(accountId: string): string {
    return createHmac('sha256', this.#key).update(accountId).digest('base64url').slice(0, 16);
  }

  /** Records the sign-in in the browser's cookie; whether the account had signed in from this browser before. */
  remember(ctx: Context, accountId: string): boolean {
    const marks = (ctx.cookies.get(COOKIE, { signed: true }) ?? '').split('.').filter((mark) => /^[\w-]{16}$/.test(mark));
    const mark = this.#mark(accountId);
    const known = marks.includes(mark);
    const kept = [...marks.filter((other) => other !== mark), mark].slice(-MAX_ACCOUNTS);
    ctx.cookies.set(COOKIE, kept.join('.'), { signed: true, httpOnly: true, sameSite: 'lax', maxAge: YEAR_MS, secure: ctx.secure, overwrite: true });
    return known;
  }
}
