// A write refused because a unique key is taken: how each driver says it. The stores turn it into what it means for
// them (a record already there, a username taken), so that the loser of a race gets an answer, not a 500.
import { QueryFailedError } from 'typeorm';

/** PostgreSQL's unique_violation; better-sqlite3's primary key or unique constraint. */
const DUPLICATE_KEY_CODES = new Set(['23505', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

export function isDuplicateKey(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const { code } = error.driverError as { code?: unknown };
  return typeof code === 'string' && DUPLICATE_KEY_CODES.has(code);
}
