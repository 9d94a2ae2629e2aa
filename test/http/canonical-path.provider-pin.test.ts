// src/http/canonical-path.ts copies how oidc-provider's router (lib/helpers/router.js) matches a path: ASCII case
// ignored, one trailing slash allowed, nothing else. Held to the installed provider: every spelling the provider runs
// must be rewritten to its route, and no spelling the provider does not run may be.
import { expect } from 'chai';
import { canonicalPath } from '../../src/http/canonical-path.js';
import { PROVIDER_PATHS, ROUTES } from '../../src/provider/routes.js';
import { serverAndProviderAlone } from '../support/provider-alone.js';

// Registration (RFC 7591) is a POST to /reg; GET, PUT and DELETE are under /reg/:client_id (RFC 7592).
const POST_ROUTES: ReadonlySet<string> = new Set([ROUTES.token, ROUTES.introspection, ROUTES.revocation, ROUTES.pushed_authorization_request, ROUTES.registration]);

/** Spellings of `route`: some the provider runs, some it must not. */
function spellings(route: string): string[] {
  const mixed = route.replace(/[a-z]/g, (letter, at: number) => (at % 2 ? letter.toUpperCase() : letter));
  return [
    route,
    route.toUpperCase(),
    mixed,
    `${route}/`,
    `${mixed}/`,
    `${route}//`,
    `/${route}`,
    `${route}.`,
    `${route}%2F`,
    route.replace(/[a-z]/, (letter) => `%${letter.charCodeAt(0).toString(16)}`),
    `${route}x`,
  ];
}

describe('src/http/canonical-path.ts against the installed oidc-provider', function () {
  const pinned = serverAndProviderAlone();

  it('[provider-pin] rewrites exactly the spellings of each route that the provider runs', async function () {
    const byFolded = new Map([...PROVIDER_PATHS].map((route) => [route.toLowerCase(), route]));
    for (const route of PROVIDER_PATHS) {
      for (const spelling of spellings(route)) {
        const method = POST_ROUTES.has(route) ? 'POST' : 'GET';
        const response = await fetch(`${pinned.alone.url}${spelling}`, { method, redirect: 'manual', headers: { host: new URL(pinned.server.issuer).host } });
        await response.arrayBuffer();
        const runs = response.status !== 404;
        expect(canonicalPath(spelling, byFolded) === route, `${method} ${spelling}: the provider ${runs ? 'runs' : 'does not run'} it`).to.equal(runs);
      }
    }
  });
});
