// Renders the server's own pages (first run, the account page, the admin console): views/web/<view>.ejs inside
// views/web/layout.ejs, with what every page shows (who is signed in, the CSRF token for its forms, the navigation
// and a one-shot notice) taken from the request, so no handler passes them by hand.
import type { Context } from 'koa';
import { renderTemplate } from '../http/views.js';

/** Where the admin console's pages live (beside the admin REST API: src/web/wants-page.ts tells them apart). */
export const ADMIN_CONSOLE_PREFIX = '/admin';

/** A one-shot notice: set before a redirect, shown by the next page rendered, then gone. */
export interface Flash {
  message: string;
  kind: 'ok' | 'error';
}

const FLASH_COOKIE = 'web.flash';
/** A notice nobody came back for is dropped after this long. */
const FLASH_MAX_AGE_MS = 60_000;

/** Keeps a notice for the next page this browser opens (POST → 303 → GET pages say "User created"). */
export function flash(ctx: Context, message: string, kind: 'ok' | 'error' = 'ok'): void {
  const value = Buffer.from(JSON.stringify({ message, kind } satisfies Flash)).toString('base64url');
  ctx.cookies.set(FLASH_COOKIE, value, { signed: true, httpOnly: true, sameSite: 'lax', maxAge: FLASH_MAX_AGE_MS, overwrite: true });
}

/** The notice kept for this page, once: reading it clears it. */
function takeFlash(ctx: Context): Flash | null {
  const value = ctx.cookies.get(FLASH_COOKIE, { signed: true });
  if (!value) return null;
  ctx.cookies.set(FLASH_COOKIE, null, { signed: true, httpOnly: true, sameSite: 'lax', overwrite: true });
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<Flash>;
    if (typeof parsed.message !== 'string') return null;
    return { message: parsed.message, kind: parsed.kind === 'error' ? 'error' : 'ok' };
  } catch {
    return null;
  }
}

/**
 * Answers with views/web/<view>.ejs in the console layout. Besides `locals` the templates read `viewer` (the signed-in
 * person or null), `csrfToken`, `nav` (the section shown as current: set `ctx.state.nav` or pass it) and `flash`.
 * `title` is the page's own title; the layout appends the product name. Pages name accounts: nothing caches them.
 */
export async function renderPage(ctx: Context, view: string, locals: Record<string, unknown>, status = 200): Promise<void> {
  const data = {
    viewer: ctx.state.viewer ?? null,
    csrfToken: ctx.state.csrfToken ?? '',
    nav: ctx.state.nav ?? null,
    flash: takeFlash(ctx),
    adminPath: ADMIN_CONSOLE_PREFIX,
    ...locals,
  };
  const body = await renderTemplate(`web/${view}.ejs`, data);
  const html = await renderTemplate('web/layout.ejs', { ...data, view, body });
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = html;
}
