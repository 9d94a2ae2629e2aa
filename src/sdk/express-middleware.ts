// Express (and Connect) middleware: sets req.user, or answers 401/403/503. Needs no express import.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthClient } from './auth-client.js';
import type { AuthUser } from './auth-user.js';
import { AuthError } from './errors.js';
import { authenticateCredentials, errorResponse, type MiddlewareOptions } from './request-auth.js';

export type AuthenticatedRequest = IncomingMessage & { user?: AuthUser | null };

export function sendAuthError(res: ServerResponse, error: unknown): void {
  const { status, headers, body } = errorResponse(error);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

export function expressMiddleware(client: AuthClient, options: MiddlewareOptions = {}) {
  return function chillfi3Authenticate(req: AuthenticatedRequest, res: ServerResponse, next: (error?: unknown) => void): void {
    authenticateCredentials(client, { authorization: req.headers.authorization, cookie: req.headers.cookie }, options).then(
      (verified) => {
        req.user = verified.user;
        next();
      },
      (error: unknown) => {
        if (options.required === false && error instanceof AuthError && error.code === 'missing_token') {
          req.user = null;
          next();
          return;
        }
        sendAuthError(res, error);
      },
    );
  };
}
