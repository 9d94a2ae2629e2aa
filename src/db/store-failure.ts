// Tells a store that is down, unreachable or too slow apart from every other error: the first is answered 503
// (StoreUnavailable, src/errors.ts), the rest stay bugs (500). The drivers have no common error type for it, so the
// rules below name what each one throws; the fault tests (test/faults/) fail if an upgrade changes any of them.
import { QueryFailedError } from 'typeorm';
import { StoreUnavailable } from '../errors.js';

/** Socket errors: the store's host refused, reset or never answered the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATE classes of an unavailable server (not of a wrong statement): 08 connection exception,
 * 53 insufficient resources (too many connections, disk full), 57 operator intervention (57014 is our
 * statement_timeout, 57P01-57P03 a server shutting down or starting up).
 */
const POSTGRES_UNAVAILABLE_CLASSES = new Set(['08', '53', '57']);

/** Failures that the drivers throw as plain Errors, without a code. */
const DRIVER_MESSAGES = new Set([
  // pg-pool: no connection within connectionTimeoutMillis
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  // pg: the server went away, or query_timeout passed
  'Connection terminated unexpectedly',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  // ioredis: commandTimeout passed, the connection is down (no offline queue), or was closed with commands pending
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Connection is closed.',
  // rate-limiter-flexible (rejectIfRedisNotReady)
  'Redis connection is not ready',
]);

/**
 * Redis error replies of a server that cannot serve now rather than of a wrong command: out of memory under
 * noeviction, loading its data after a restart, a failover in progress, a script hogging it.
 */
const REDIS_UNAVAILABLE_REPLIES = /^(OOM|LOADING|MASTERDOWN|READONLY|TRYAGAIN|BUSY) /;

/**
 * better-sqlite3 (SqliteError codes): the embedded file stayed locked by another connection (the CLI writing, a backup
 * tool) past busy_timeout. Extended codes (SQLITE_BUSY_SNAPSHOT, ...) are matched by their prefix.
 */
const SQLITE_LOCKED_CODES = /^SQLITE_(BUSY|LOCKED)(_|$)/;

/** ioredis: commands flushed after maxRetriesPerRequest reconnection attempts. */
const DRIVER_ERROR_NAMES = new Set(['MaxRetriesPerRequestError']);

/** Whether this error, or one it was caused by, says that a store is unavailable (rather than a request or a bug). */
export function isStoreFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const candidate = current instanceof QueryFailedError ? (current.driverError as Error) : current;
    // Ours, also as the driver error of a statement the request's deadline refused (src/db/postgres-deadline.ts).
    if (candidate instanceof StoreUnavailable) return true;
    const { code } = candidate as { code?: unknown };
    if (
      typeof code === 'string' &&
      (NETWORK_CODES.has(code) || (code.length === 5 && POSTGRES_UNAVAILABLE_CLASSES.has(code.slice(0, 2))) || SQLITE_LOCKED_CODES.test(code))
    ) {
      return true;
    }
    if (DRIVER_MESSAGES.has(candidate.message) || DRIVER_ERROR_NAMES.has(candidate.name)) return true;
    if (candidate.name === 'ReplyError' && REDIS_UNAVAILABLE_REPLIES.test(candidate.message)) return true;
  }
  return false;
}
