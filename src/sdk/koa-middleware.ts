// Koa middleware: sets ctx.state.user, or answers 401/403/503. Needs no koa import.
import type { IncomingMessage } from 'node:http';
import type { AuthClient } from './auth-client.js';
import { AuthError } from './errors.js';
import { authenticateCredentials, errorResponse, type MiddlewareOptions } from './request-auth.js';

/** The part of a Koa context the middleware uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  state: Record<string, unknown>;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

export function koaMiddleware(client: AuthClient, options: MiddlewareOptions = {}) {
  return async function chillfi3Authenticate(ctx: KoaContextLike, next: () => Promise<unknown>): Promise<void> {
    const { headers } = ctx.req;
    try {
      ctx.state.user = (await authenticateCredentials(client, { authorization: headers.authorization, cookie: headers.cookie }, options)).user;
    } catch (error) {
      if (options.required === false && error instanceof AuthError && error.code === 'missing_token') {
        ctx.state.user = null;
      } else {
        const response = errorResponse(error);
        for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value);
        ctx.status = response.status;
        ctx.body = response.body;
        return;
      }
    }
    await next();
  };
}
