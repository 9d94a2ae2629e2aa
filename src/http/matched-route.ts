import type { Context } from 'koa';
import { PROVIDER_PATHS } from '../provider/routes.js';

/**
 * The route a request ran, as its template (`/interaction/:uid/login`, `/token`, `/auth/:uid`), or `unmatched`.
 * Both our routers and the provider's record the matched template on the context; a path is used only when it is one
 * of the provider's own routes (canonical by then: canonical-path.ts). A raw path would hold ids, and for a request
 * nothing matched whatever the caller typed: logs and metrics name templates only.
 */
export function matchedRoute(ctx: Context): string {
  const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof route === 'string') return route;
  // A provider route answered before its router ran (the client-endpoint stages' 429 and 401) keeps its path.
  return PROVIDER_PATHS.has(ctx.path) ? ctx.path : 'unmatched';
}
