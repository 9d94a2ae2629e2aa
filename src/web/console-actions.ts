// How a console action ends: POST → 303 → GET with a notice, so that a reload cannot post the form again.
import type { Context } from 'koa';
import { flash } from './page.js';

/** Sends the browser on to `path` with `notice` shown there once. */
export function doneThen(ctx: Context, path: string, notice: string): void {
  flash(ctx, notice);
  ctx.status = 303;
  ctx.redirect(path);
}
