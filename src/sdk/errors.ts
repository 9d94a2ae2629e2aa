// The SDK's errors: one base class with a stable code and an HTTP status, turned into a response once at the edge.

export type AuthErrorCode =
  | 'missing_token'
  | 'invalid_token'
  | 'inactive_token'
  | 'auth_unavailable'
  | 'invalid_logout_token'
  | 'sign_in_failed'
  | 'access_denied'
  | 'sign_in_cancelled'
  | 'local_user_conflict'
  | 'enrolment_refused'
  | 'configuration';

const STATUS: Record<AuthErrorCode, number> = {
  missing_token: 401,
  invalid_token: 403,
  inactive_token: 403,
  auth_unavailable: 503,
  invalid_logout_token: 400,
  sign_in_failed: 400,
  /** The auth server refused this account here (no access to an invite-only instance). */
  access_denied: 403,
  /** The person cancelled at the auth server (the sign-in page's Cancel, or consent denied). */
  sign_in_cancelled: 400,
  /** The local row found for the user is linked to another account at the auth server: not theirs to use. */
  local_user_conflict: 403,
  /** The auth server refused to register this instance (src/sdk/enrol.ts): the token or the metadata. */
  enrolment_refused: 400,
  configuration: 500,
};

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.code = code;
    this.status = STATUS[code];
  }
}

/** An error's message, for logs and for the message of the AuthError wrapping it. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The auth server could not be reached (network error or timeout), as opposed to an answer we did not like. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof AuthError) return error.code === 'auth_unavailable';
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const name = (current as { name?: unknown }).name;
    const code = (current as { code?: unknown }).code;
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ECONNREFUSED' || code === 'ECONNRESET') return true;
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_BODY_ERROR') return true;
    if (name === 'TypeError' && (current as Error).message === 'fetch failed') return true;
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_SOCKET') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The auth server's user API refused a call (problem+json, RFC 9457): its status (400 bad input, 403 not allowed,
 * 404 no such account or none the caller may see, 409 a username taken, 503 try again) and what it says.
 */
export class UserApiError extends Error {
  readonly status: number;
  /** The problem's title, e.g. "conflict"; null when the answer was not problem+json. */
  readonly title: string | null;
  /** What was wrong, naming the field for bad input; null when the answer was not problem+json. */
  readonly detail: string | null;

  constructor(status: number, title: string | null, detail: string | null) {
    super(detail ?? title ?? `the user API answered HTTP ${status}`);
    this.name = 'UserApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
  }

  static fromProblem(status: number, problem: unknown): UserApiError {
    const { title, detail } = (problem ?? {}) as { title?: unknown; detail?: unknown };
    return new UserApiError(status, typeof title === 'string' ? title : null, typeof detail === 'string' ? detail : null);
  }
}
