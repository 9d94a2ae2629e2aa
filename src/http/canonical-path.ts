// oidc-provider's router (node_modules/oidc-provider/lib/helpers/router.js) matches its routes ignoring ASCII case and
// one trailing slash: `/TOKEN`, `/token/` and `/Token/Revocation/` all run an endpoint. The app's own stages compare
// paths exactly, so every spelling the provider would run is rewritten to the route's own spelling first, once, before
// anything looks at the path. test/http/canonical-path.provider-pin.test.ts pins the provider's matching on upgrades
// (docs/upgrading-oidc-provider.md).
import type { Middleware } from 'koa';

/** ASCII-only case folding, as the provider's router does (no Unicode case mapping onto ASCII letters). */
function foldAscii(path: string): string {
  return path.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** The route `path` runs, spelled as the route is, or `path` itself when it is none of `routes`. */
export function canonicalPath(path: string, routes: ReadonlyMap<string, string>): string {
  const folded = foldAscii(path);
  return routes.get(folded) ?? (folded.length > 1 && folded.endsWith('/') ? routes.get(folded.slice(0, -1)) : undefined) ?? path;
}

/** Rewrites the request path of any spelling of the provider's `routes` to the route itself. */
export function canonicalProviderPaths(routes: Iterable<string>): Middleware {
  const byFolded = new Map([...routes].map((route) => [foldAscii(route), route]));
  return function canonicalizeProviderPath(ctx, next) {
    const canonical = canonicalPath(ctx.path, byFolded);
    if (canonical !== ctx.path) ctx.path = canonical;
    return next();
  };
}
