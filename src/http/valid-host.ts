// RFC 9112 §3.2: a request whose Host is missing or not a valid host gets 400. The provider builds its URLs from the
// request's own (new URL(path, ctx.href)) and would otherwise fail with a TypeError, a 500, on `Host: x:99999`.
import type { Middleware } from 'koa';
import { BadRequest } from '../errors.js';

export function requireValidHost(): Middleware {
  // Behind a Host and a path that starts with '/', whether the URL parses depends on the origin alone (the host ends
  // where the path begins): the last origin that parsed is remembered, so the usual request is not parsed again.
  let lastValidOrigin: string | undefined;
  return function checkHost(ctx, next) {
    const origin = ctx.host && ctx.originalUrl.startsWith('/') ? `${ctx.protocol}://${ctx.host}` : undefined;
    if (origin !== undefined && origin === lastValidOrigin) return next();
    try {
      new URL(ctx.href);
    } catch (error) {
      throw new BadRequest('the Host header is not a valid host', error);
    }
    if (origin !== undefined) lastValidOrigin = origin;
    return next();
  };
}
