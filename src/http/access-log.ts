// One access-log line per request, at info, once the response is sent (so with its final status, as the error handler,
// Koa or the provider left it). The line names the route template, never the URL: query strings carry authorization
// codes, state and tokens, and no body, header or query value is logged.
import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { TrustedProxies } from '../../config/index.js';
import type { Logger } from '../logger.js';
import { trustFunction } from './client-address.js';
import { clientCallOf } from './client-call.js';
import { matchedRoute } from './matched-route.js';

const REQUEST_ID_HEADER = 'X-Request-Id';

/** What a request id may look like when a proxy sends one: short, and nothing a log line or a header must escape. */
const SANE_REQUEST_ID = /^[\w.:+/=-]{1,128}$/;

/**
 * The request's id: the X-Request-Id a trusted proxy (AUTH_TRUST_PROXY) sent, so that its logs and ours join up, or
 * a fresh UUID. From anyone else the header is ignored: a client could otherwise pass its lines off as another's.
 */
function requestIdOf(ctx: Context, trustsPeer: (address: string) => boolean): string {
  const incoming = ctx.get(REQUEST_ID_HEADER);
  if (incoming && SANE_REQUEST_ID.test(incoming) && trustsPeer(ctx.req.socket.remoteAddress ?? '')) return incoming;
  return randomUUID();
}

/**
 * The instance the request was made for, when one is known to exist: the provider's authenticated or looked-up
 * client, or the instance the client-endpoint stages found. A client_id that names no instance is not logged: it is
 * whatever the caller typed.
 */
function knownClientId(ctx: Context): string | undefined {
  return (ctx as Partial<KoaContextWithOIDC>).oidc?.client?.clientId ?? clientCallOf(ctx)?.found?.instance.clientId;
}

export function accessLog(logger: Logger, trusted: TrustedProxies): Middleware {
  const trust = trustFunction(trusted);
  const trustsPeer = (address: string) => trust(address, 0);
  return async function logAccess(ctx, next) {
    const started = performance.now();
    const requestId = requestIdOf(ctx, trustsPeer);
    ctx.set(REQUEST_ID_HEADER, requestId);
    // A response emits close once, sent or cut off (then not writableFinished): one listener per request.
    ctx.res.once('close', () => {
      logger.info(
        {
          requestId,
          method: ctx.method,
          route: matchedRoute(ctx),
          status: ctx.res.statusCode,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          clientId: knownClientId(ctx),
          ip: ctx.ip,
          ...(ctx.res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
    await next();
  };
}
