// Errors are data: a status, a stable code, whether the message may be shown, and the original cause.
// They are turned into responses once, at the edge (src/http/error-handler.ts), never where they are thrown.

export interface AppErrorOptions {
  status?: number;
  expose?: boolean;
  cause?: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;

  constructor(code: string, message: string, { status = 500, expose = status < 500, cause }: AppErrorOptions = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = status;
    this.expose = expose;
  }
}

/** The longest piece of someone's input a message quotes back: a pasted page must not fill the screen or the log. */
const QUOTED_MAX = 60;

/** Someone's input as a message quotes it: in double quotes, cut to QUOTED_MAX characters with an ellipsis. */
export function quoted(value: string): string {
  const characters = [...value];
  return `"${characters.length <= QUOTED_MAX ? value : `${characters.slice(0, QUOTED_MAX - 1).join('')}…`}"`;
}

export class BadRequest extends AppError {
  constructor(message: string, cause?: unknown) {
    super('bad_request', message, { status: 400, cause });
  }
}

export class NotFound extends AppError {
  constructor(message = 'not found') {
    super('not_found', message, { status: 404 });
  }
}

export class Conflict extends AppError {
  constructor(message: string) {
    super('conflict', message, { status: 409 });
  }
}

export class TooManyRequests extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('too_many_requests', message, { status: 429 });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What Retry-After says on a 503: long enough for a restarted store to come back, short enough not to lose a user. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * The database or Redis failed, refused the connection or did not answer within its timeout: 503, worth retrying
 * shortly. The message says nothing of which store or why (the store watch logs that once per outage).
 */
export class StoreUnavailable extends AppError {
  readonly retryAfterSeconds = STORE_RETRY_AFTER_SECONDS;

  constructor(cause: unknown) {
    super('temporarily_unavailable', 'the service is temporarily unavailable; try again shortly', { status: 503, expose: true, cause });
  }
}
