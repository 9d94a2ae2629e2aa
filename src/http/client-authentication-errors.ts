import type { Middleware } from 'koa';

// oidc-provider answers a request that carries no client authentication at all with 400 invalid_request.
// RFC 6749 §5.2 (and RFC 7662 §2.3, RFC 7009 §2.1 by reference) call that invalid_client, 401. This rewrites that
// one answer, recognized by the provider's own description; test/provider/errors.test.ts pins it on upgrades.
const NO_CLIENT_AUTHENTICATION = 'no client authentication mechanism provided';

interface OAuthErrorBody {
  error?: unknown;
  error_description?: unknown;
}

export function clientAuthenticationErrors(paths: readonly string[]): Middleware {
  return async function answerMissingClientAuthenticationWith401(ctx, next) {
    await next();
    if (ctx.status !== 400 || ctx.method !== 'POST' || !paths.includes(ctx.path)) return;
    const body = ctx.body as OAuthErrorBody | undefined;
    if (body?.error !== 'invalid_request' || body.error_description !== NO_CLIENT_AUTHENTICATION) return;
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Basic realm="chillfi3-auth"');
    ctx.body = { error: 'invalid_client', error_description: 'client authentication is required' };
  };
}
