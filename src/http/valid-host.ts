// RFC 9112 §3.2: a request whose Host is missing or not a valid host gets 400. The provider builds its URLs from the
// request's own (new URL(path, ctx.href)) and would otherwise fail with a TypeError, a 500, on `Host: x:99999`.
import type { Middleware } from 'koa';
import { BadRequest } from '../errors.js';

export function requireValidHost(): Middleware {
  return function checkHost(ctx, next) {
    try {
      new URL(ctx.href);
    } catch (error) {
      throw new BadRequest('the Host header is not a valid host', error);
    }
    return next();
  };
}
