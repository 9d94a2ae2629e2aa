// An address nothing answers: a browser gets the error page (with its way on, src/web/error-way-on.ts) instead of
// Koa's bare "Not Found" text; API callers keep the bare 404 they get today.
import type { Middleware } from 'koa';
import { NotFound } from '../errors.js';

export function notFoundPage(): Middleware {
  return async function pageNotFound(ctx, next) {
    await next();
    const unanswered = ctx.status === 404 && ctx.body == null;
    if (unanswered && (ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.accepts(['json', 'html']) === 'html') {
      throw new NotFound('there is no page at this address');
    }
  };
}
