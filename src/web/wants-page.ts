// The one rule that lets the console's pages and the admin REST API share /admin: a browser asking for a page (a
// GET that prefers HTML, or a form post) and carrying no Authorization header gets a page; everything else (a Bearer
// token, JSON asked for or sent) goes on to the API as before.
import type { Context, Middleware } from 'koa';

export function wantsPage(ctx: Context): boolean {
  if (ctx.get('authorization')) return false;
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return ctx.accepts(['json', 'html']) === 'html';
  if (ctx.method === 'POST') return ctx.is('urlencoded') === 'urlencoded';
  return false;
}

/** Runs `pages` (a router's routes) for page requests only; the rest pass by it untouched. */
export function pagesOnly(pages: Middleware): Middleware {
  return function pageRequestsOnly(ctx, next) {
    return wantsPage(ctx) ? pages(ctx, next) : next();
  };
}
