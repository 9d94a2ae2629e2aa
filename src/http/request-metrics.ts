import { finished } from 'node:stream';
import type { Middleware } from 'koa';
import { httpRequestDuration } from '../metrics/metrics.js';
import { matchedRoute } from './matched-route.js';

/**
 * Times every request into chillfi3_auth_http_request_duration_seconds. Observed when the response has been sent, so
 * the status is the final one whoever set it: a stage, the error handler, Koa, or the provider writing to the
 * response itself (interactionFinished).
 */
export function requestMetrics(): Middleware {
  return async function measureRequest(ctx, next) {
    const stop = httpRequestDuration.startTimer();
    finished(ctx.res, () => stop({ method: ctx.method, route: matchedRoute(ctx), status: String(ctx.res.statusCode) }));
    await next();
  };
}
