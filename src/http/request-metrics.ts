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
    const started = performance.now();
    // A response emits close once, sent or cut off: one listener (stream.finished adds half a dozen per request).
    ctx.res.once('close', () =>
      httpRequestDuration.observe(
        { method: ctx.method, route: matchedRoute(ctx), status: String(ctx.res.statusCode) },
        (performance.now() - started) / 1000,
      ),
    );
    await next();
  };
}
