import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { isStoreFailure } from '../db/store-failure.js';
import { AppError, STORE_RETRY_AFTER_SECONDS, StoreUnavailable, TooManyRequests } from '../errors.js';
import { PROVIDER_PATHS } from '../provider/routes.js';
import { wayOnFrom } from '../web/error-way-on.js';
import { renderView } from './views.js';

interface LibraryError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/**
 * Our errors as they are; a store that failed or timed out, whatever the layer that met it, as StoreUnavailable.
 * A client error from a library keeps its status: oidc-provider's (from the interaction helpers) with its OAuth
 * `error` and description, a body parser's 400 or 413 with its message. The rest is a 500.
 */
function asAppError(caught: unknown): AppError {
  if (caught instanceof AppError) return caught;
  if (isStoreFailure(caught)) return new StoreUnavailable(caught);
  const { status, expose, message, error, error_description: description } = (caught ?? {}) as LibraryError;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (typeof error === 'string') {
      return new AppError(error, typeof description === 'string' ? description : error, { status, cause: caught });
    }
    const detail = expose === true && typeof message === 'string' ? message : 'bad request';
    return new AppError(status === 413 ? 'payload_too_large' : 'bad_request', detail, { status, cause: caught });
  }
  return new AppError('internal_error', 'internal server error', { status: 500, cause: caught });
}

function wantsHtml(ctx: Context): boolean {
  return ctx.accepts(['json', 'html']) === 'html';
}

/**
 * The edge where errors become responses, once: problem+json (RFC 9457) for API callers, the friendly error page
 * for browsers, and for a store outage met before the provider on one of its endpoints the provider's own answer to
 * it (OAuth error JSON, src/provider/store-unavailable.ts), so a client sees one answer whichever layer met it.
 * Unexpected errors are logged with their stack and answered with a bare 500: no message, no stack. Store outages
 * are not logged per request: their store watch logs each once (src/db/store-watch.ts).
 * Every 503, ours or the provider's, says when to come back (Retry-After).
 */
export function errorHandler(logger: Logger): Middleware {
  return async function handleErrors(ctx, next) {
    try {
      await next();
      // The provider's own 503s (a store failure under it, src/provider/store-unavailable.ts) come back as responses.
      if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
    } catch (caught) {
      const error = asAppError(caught);
      if (error.status >= 500 && !(error instanceof StoreUnavailable)) logger.error({ err: caught, path: ctx.path }, 'request failed');
      const detail = error.expose ? error.message : 'internal server error';
      if (error instanceof TooManyRequests || error instanceof StoreUnavailable) ctx.set('Retry-After', String(error.retryAfterSeconds));
      ctx.status = error.status;
      if (wantsHtml(ctx)) {
        ctx.type = 'html';
        ctx.body = await renderView('error', { title: 'Something went wrong', status: error.status, error: error.code, description: detail, wayOn: wayOnFrom(ctx.path) });
        return;
      }
      if (error instanceof StoreUnavailable && PROVIDER_PATHS.has(ctx.path)) {
        ctx.body = { error: error.code, error_description: detail };
        return;
      }
      ctx.type = 'application/problem+json';
      ctx.body = { type: 'about:blank', title: error.code, status: error.status, detail };
    }
  };
}
