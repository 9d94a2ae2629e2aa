// Stock oidc-provider accepts only the access tokens it stores at its userinfo and revocation endpoints, and this
// server stores none (src/provider/revocation-marks.ts). No library bridges that, so this stage does, with the
// provider's own machinery, for the two endpoints that are not hot paths:
//  - a live JWT access token of this server is handed to the provider as a short-lived record of the token (the
//    fields an opaque token would hold: client, account, grant, scope, sid; no audience, which userinfo refuses),
//    stored through the provider's adapter under an id only this server can compute (an HMAC of the jti), so the
//    provider authenticates the client, checks the grant, answers userinfo or revokes exactly as for an opaque token;
//  - a revocation the provider accepted from the token's own instance also marks the token itself revoked, until it
//    expires (the provider revokes the grant of a user's token itself, which marks the grant: adapters/).
// Introspection, the hot path, never comes here: src/provider/jwt-introspection.ts answers it.
import { createHmac } from 'node:crypto';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { oauthForm } from '../http/oauth-form.js';
import { deriveKey } from '../security/secret-box.js';
import { grantIdOf, isStructuredToken, type AccessTokenClaims, type AccessTokens } from './access-tokens.js';

/** Stands in for a token nobody issued: not a possible token id (ids never contain '!'). */
const UNKNOWN_TOKEN = '!';
/** How long a record made for one request may stay: long enough for that request, never longer than the token. */
const RECORD_SECONDS = 60;

export interface PresentationPaths {
  revocation: string;
  userinfo: string;
}

export interface JwtPresentationOptions {
  accessTokens: AccessTokens;
  /** The provider serving requests now (its models write through the shared adapter). */
  provider: () => Provider;
  secretKey: string;
  paths: PresentationPaths;
}

export function jwtPresentation({ accessTokens, provider, secretKey, paths }: JwtPresentationOptions): Middleware {
  const recordKey = deriveKey(secretKey, 'access-token-registry');
  const recordId = (jti: string) => createHmac('sha256', recordKey).update(jti).digest('base64url');

  /** Stores the token's record for this request and returns its id. */
  async function present(claims: AccessTokenClaims): Promise<string> {
    const grantId = grantIdOf(claims);
    const model = grantId ? provider().AccessToken : provider().ClientCredentials;
    const id = recordId(claims.jti);
    const record = {
      jti: id,
      kind: grantId ? 'AccessToken' : 'ClientCredentials',
      iat: claims.iat,
      exp: claims.exp,
      clientId: claims.client_id,
      ...(grantId ? { accountId: claims.sub, grantId } : {}),
      ...(typeof claims.scope === 'string' ? { scope: claims.scope } : {}),
      ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
    };
    const ttl = Math.min(RECORD_SECONDS, claims.exp - Math.floor(Date.now() / 1000));
    await model.adapter.upsert(id, record as never, Math.max(1, ttl));
    return id;
  }

  return async function presentJwtAccessTokens(ctx, next) {
    const form = oauthForm(ctx);
    if (ctx.path === paths.userinfo) {
      // RFC 6750 §2.1 (header) and §2.2 (form): a token that is ours but revoked or expired is an unknown one.
      const bearer = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'))?.[1];
      if (isStructuredToken(bearer)) {
        const claims = await accessTokens.live(bearer);
        ctx.req.headers.authorization = `Bearer ${claims ? await present(claims) : UNKNOWN_TOKEN}`;
      }
      if (form && isStructuredToken(form.access_token)) {
        const claims = await accessTokens.live(form.access_token);
        form.access_token = claims ? await present(claims) : UNKNOWN_TOKEN;
      }
      return next();
    }
    if (ctx.path !== paths.revocation || !form || !isStructuredToken(form.token)) return next();
    // A JWT that is not ours, or no longer verifies, is an unknown token, quietly ignored (RFC 7009 §2.2).
    const claims = await accessTokens.verify(form.token);
    form.token = claims ? await present(claims) : UNKNOWN_TOKEN;
    await next();
    const caller = (ctx as Partial<KoaContextWithOIDC>).oidc?.client?.clientId;
    if (claims && ctx.status === 200 && caller === claims.client_id) await accessTokens.revoke(claims);
  };
}
