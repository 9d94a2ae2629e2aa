// The client_credentials grant (RFC 6749 §4.4) for the plain request an instance's SDK makes, issued here rather than
// by oidc-provider: an instance fetches a service token often, and the provider's token endpoint (client lookup and
// schema, grant handler, resource resolution) costs more than the whole answer does here (bench/run.ts). Nothing is
// stored: the token is a JWT signed with the key the provider would use (src/keys/access-token-signer.ts), carrying
// exactly the claims the provider puts in it (lib/models/formats/jwt.js), and the response has the provider's members.
//
// Only a request whose outcome is certain is answered here: a client the client-endpoint stages authenticated
// completely (src/http/client-call.ts), allowed this grant, asking for its own resource (or none) and only for scopes
// it is allowed, with no parameter beyond those. Everything else, errors included, goes on to the provider, which
// answers it as before.
import type { Middleware } from 'koa';
import { nanoid } from 'nanoid';
import type { AccessTokenSigner } from '../keys/access-token-signer.js';
import { settledInstance } from '../http/client-call.js';
import { isPlainForm, oauthForm } from '../http/oauth-form.js';
import { tokensIssued } from '../metrics/metrics.js';

const PARAMETERS = new Set(['grant_type', 'scope', 'resource', 'client_id', 'client_secret']);
/** A scope parameter as RFC 6749 §3.3 spells it: tokens separated by single spaces. */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

export interface ClientCredentialsGrantOptions {
  path: string;
  issuer: string;
  signer: AccessTokenSigner;
  /** TOKEN_TTL, the lifetime the provider gives these tokens. */
  ttlSeconds: number;
  /** The scopes a service token may carry (the resource server's scope in the provider's configuration). */
  serviceScopes: ReadonlySet<string>;
  /** The resource indicator of an instance's own access tokens. */
  resourceOf: (clientId: string) => string;
}

export function clientCredentialsGrant({ path, issuer, signer, ttlSeconds, serviceScopes, resourceOf }: ClientCredentialsGrantOptions): Middleware {
  return async function issueServiceToken(ctx, next) {
    const form = oauthForm(ctx);
    if (ctx.method !== 'POST' || ctx.path !== path || form?.grant_type !== 'client_credentials') return next();
    const found = settledInstance(ctx);
    if (!found || !isPlainForm(form, PARAMETERS) || ctx.get('dpop') || ctx.get('origin')) return next();
    const { instance } = found;
    if (!instance.grantTypes.includes('client_credentials')) return next();
    if (form.resource !== undefined && form.resource !== resourceOf(instance.clientId)) return next();
    const requested = typeof form.scope === 'string' ? form.scope : undefined;
    if (requested !== undefined && !SCOPE_SYNTAX.test(requested)) return next();
    const allowed = new Set(instance.scopes.split(' '));
    const scopes = [...new Set(requested?.split(' ') ?? [])];
    if (scopes.some((scope) => !allowed.has(scope))) return next();

    const scope = scopes.filter((name) => serviceScopes.has(name)).join(' ') || undefined;
    const iat = Math.floor(Date.now() / 1000);
    const accessToken = signer.sign({
      // 43 URL-safe characters, the provider's own token ids; nanoid draws them from a pool of random bytes filled
      // in bulk, where a randomBytes call per token costs a system call each.
      jti: nanoid(43),
      sub: instance.clientId,
      iat,
      exp: iat + ttlSeconds,
      ...(scope ? { scope } : {}),
      client_id: instance.clientId,
      iss: issuer,
      aud: instance.clientId,
    });
    tokensIssued.inc({ grant_type: 'client_credentials' });
    ctx.status = 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { access_token: accessToken, expires_in: ttlSeconds, ...(scope ? { scope } : {}), token_type: 'Bearer' };
  };
}
