import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { AppError, TooManyRequests } from '../errors.js';
import { renderView } from './views.js';

interface LibraryError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/**
 * Our errors as they are. A client error from a library keeps its status: oidc-provider's (from the interaction
 * helpers) with its OAuth `error` and description, a body parser's 400 or 413 with its message. The rest is a 500.
 */
function asAppError(caught: unknown): AppError {
  if (caught instanceof AppError) return caught;
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
 * for browsers. Unexpected errors are logged with their stack and answered with a bare 500: no message, no stack.
 */
export function errorHandler(logger: Logger): Middleware {
  return async function handleErrors(ctx, next) {
    try {
      await next();
    } catch (caught) {
      const error = asAppError(caught);
      if (error.status >= 500) logger.error({ err: caught, path: ctx.path }, 'request failed');
      const detail = error.expose ? error.message : 'internal server error';
      if (error instanceof TooManyRequests) ctx.set('Retry-After', String(error.retryAfterSeconds));
      ctx.status = error.status;
      if (wantsHtml(ctx)) {
        ctx.type = 'html';
        ctx.body = await renderView('error', { title: 'Something went wrong', status: error.status, error: error.code, description: detail });
        return;
      }
      ctx.type = 'application/problem+json';
      ctx.body = { type: 'about:blank', title: error.code, status: error.status, detail };
    }
  };
}
