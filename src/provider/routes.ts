// Where the provider answers: its endpoints and discovery documents, named here because the app's own middleware
// (error mapping, route matching, caching, the web session) needs them too.

/** The provider's endpoints (oidc-provider's defaults). */
export const ROUTES = {
  authorization: '/auth',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  userinfo: '/me',
  pushed_authorization_request: '/request',
  end_session: '/session/end',
  jwks: '/jwks',
  registration: '/reg',
} as const;

/** The provider's discovery documents (RFC 8414 and OpenID Connect Discovery): fixed paths, not among its routes. */
export const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'] as const;

/** The provider's route paths, spelled as the routes are (after src/http/canonical-path.ts, requests spell them so too). */
export const PROVIDER_PATHS: ReadonlySet<string> = new Set([...Object.values(ROUTES), ...DISCOVERY_PATHS]);
