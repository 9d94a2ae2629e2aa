// RFC 7662 introspection of this server's JWT access tokens, answered here rather than by oidc-provider, which
// accepts only tokens it stores (and this server stores none: src/provider/revocation-marks.ts). A token is active
// when it verifies against the served keys, its instance still exists, neither it nor its grant is marked revoked (one
// store round trip), and the caller may see it: the instance it was issued to, or the one it is meant for (its
// audience), as the provider's introspection `allowedPolicy` had it. Anything else is `{ "active": false }`.
//
// A caller the client-endpoint stages authenticated completely (src/http/client-call.ts: its secret, presented the one
// way it is registered for) is answered at once. Any other caller (a client assertion, mixed or unusual parameters)
// goes through the provider, which authenticates it and answers for an unknown token; its answer is then replaced by
// this one for the client the provider authenticated. Refresh tokens and anything that is not a JWT stay the
// provider's.
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { InstanceStore } from '../instances/instance-store.js';
import { settledInstance } from '../http/client-call.js';
import { isPlainForm, oauthForm } from '../http/oauth-form.js';
import { grantIdOf, isStructuredToken, type AccessTokenClaims, type AccessTokens } from './access-tokens.js';
import { GRANT_ID_CLAIM } from './revocation-marks.js';

/** Stands in for a token nobody issued: not a possible token id (ids never contain '!'). */
const UNKNOWN_TOKEN = '!';

/** The parameters an introspection answered here may carry; any other goes through the provider. */
const PARAMETERS = new Set(['token', 'token_type_hint', 'client_id', 'client_secret']);

/** Claims the introspection response states in its own members; every other claim of the token is passed on. */
const OWN_MEMBERS = new Set(['jti', 'sub', 'iat', 'exp', 'scope', 'client_id', 'iss', 'aud', 'cnf', 'authorization_details', GRANT_ID_CLAIM]);

export interface JwtIntrospectionOptions {
  path: string;
  issuer: string;
  accessTokens: AccessTokens;
  instances: InstanceStore;
}

function mayIntrospect(claims: AccessTokenClaims, clientId: string): boolean {
  return claims.client_id === clientId || [claims.aud].flat().includes(clientId);
}

export function jwtIntrospection({ path, issuer, accessTokens, instances }: JwtIntrospectionOptions): Middleware {
  /** The response for `token` to the instance `clientId`, in the members and order oidc-provider uses. */
  async function answer(token: string, clientId: string): Promise<Record<string, unknown>> {
    const claims = await accessTokens.verify(token);
    if (!claims || !mayIntrospect(claims, clientId)) return { active: false };
    const [instance, revoked] = await Promise.all([instances.findByClientId(claims.client_id), accessTokens.isRevoked(claims)]);
    if (!instance || revoked) return { active: false };
    const extra = Object.fromEntries(Object.entries(claims).filter(([name]) => !OWN_MEMBERS.has(name)));
    return {
      active: true,
      // A client_credentials token's `sub` is the client itself: the provider states no subject for it.
      ...(grantIdOf(claims) ? { sub: claims.sub } : {}),
      ...extra,
      client_id: claims.client_id,
      exp: claims.exp,
      iat: claims.iat,
      iss: issuer,
      jti: claims.jti,
      aud: claims.aud,
      scope: claims.scope,
      token_type: 'Bearer',
    };
  }

  function respond(ctx: Context, body: Record<string, unknown>): void {
    ctx.status = 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  }

  return async function introspectJwtAccessTokens(ctx, next) {
    const form = oauthForm(ctx);
    if (ctx.method !== 'POST' || ctx.path !== path || !form || !isStructuredToken(form.token)) return next();
    const token = form.token;
    const caller = settledInstance(ctx);
    const hint = form.token_type_hint;
    if (caller && isPlainForm(form, PARAMETERS) && (hint === undefined || hint === 'access_token')) {
      return respond(ctx, await answer(token, caller.instance.clientId));
    }
    form.token = UNKNOWN_TOKEN;
    await next();
    const authenticated = (ctx as Partial<KoaContextWithOIDC>).oidc?.client?.clientId;
    if (authenticated && ctx.status === 200 && (ctx.body as { active?: unknown } | undefined)?.active === false) {
      respond(ctx, await answer(token, authenticated));
    }
  };
}
