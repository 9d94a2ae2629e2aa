// 405 with Allow for the methods a router does not route on its own paths.
import type Router from '@koa/router';
import { AppError } from '../errors.js';

/**
 * Answers every other method on the router's paths with 405 here, so that nothing under them reaches the provider
 * (whose authorization endpoint /auth is a prefix of /auth/register). @koa/router's allowedMethods() cannot: it
 * decides after the rest of the app has answered. For a router without a prefix (the paths are added again as they
 * are).
 */
export function refuseOtherMethods(router: Router): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { path, methods } of router.stack) {
    if (typeof path !== 'string' || methods.length === 0) continue;
    methodsByPath.set(path, new Set([...(methodsByPath.get(path) ?? []), ...methods]));
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods].join(', ');
    router.all(path, function methodNotAllowed(ctx) {
      ctx.set('Allow', allow);
      throw new AppError('method_not_allowed', `${ctx.method} is not allowed here; allowed: ${allow}`, { status: 405 });
    });
  }
}
