// What a failed run means, as the exit code a script tests and the stable code its --json error carries: chosen here
// once for every command (README, "Exit codes"). sysexits.h where it names the kind; 2 for usage errors, as commander
// and most command lines answer them.
import { CommanderError } from 'commander';
import { ConfigError } from '../../config/index.js';
import { isStoreFailure } from '../db/store-failure.js';
import { AppError, StoreUnavailable } from '../errors.js';

export const EXIT_OK = 0;
/** Anything not named below: a bug, or a failure with no kind of its own. */
const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** EX_DATAERR: a value the command refused (a short password, a bad redirect URI, an unreadable import file). */
const EXIT_INVALID_INPUT = 65;
/** EX_NOINPUT: the user, instance, key or session named does not exist. */
const EXIT_NOT_FOUND = 66;
/** EX_UNAVAILABLE: the database cannot be used as it is (pending migrations): retrying will not help. */
const EXIT_UNAVAILABLE = 69;
/** EX_CANTCREAT: it exists already or clashes with what is there (a taken username or name, the last admin). */
const EXIT_CONFLICT = 73;
/** EX_TEMPFAIL: a store (database, Redis) is unreachable, too slow or locked: try again shortly. */
const EXIT_TRY_AGAIN = 75;
/** EX_CONFIG: the environment's configuration is invalid. */
const EXIT_CONFIG = 78;

/** A failed run: its exit code, the stable code of its --json error, its message, and whether it is a bug. */
export interface Failure {
  exitCode: number;
  code: string;
  message: string;
  /** Unexpected: print the stack with it. */
  unexpected: boolean;
}

/** The failure a thrown value stands for. */
export function failureOf(error: unknown): Failure {
  if (error instanceof CommanderError) return usageFailure(error);
  if (error instanceof ConfigError) return { exitCode: EXIT_CONFIG, code: 'invalid_configuration', message: error.message, unexpected: false };
  if (error instanceof AppError && !(error instanceof StoreUnavailable)) {
    return { exitCode: appErrorExitCode(error), code: error.code, message: error.message, unexpected: false };
  }
  // Ours, or what a driver threw for a store that is down, too slow or locked (src/db/store-failure.ts).
  if (isStoreFailure(error)) return { exitCode: EXIT_TRY_AGAIN, code: 'temporarily_unavailable', message: describe(error), unexpected: false };
  // Operational failures (bad credentials, an unwritable folder) carry a code: no stack for them.
  const code = (error as { code?: unknown } | null)?.code;
  return { exitCode: EXIT_FAILURE, code: 'failed', message: describe(error), unexpected: typeof code !== 'string' && error instanceof Error };
}

/** Our errors by their HTTP status: the kind they already state once. */
function appErrorExitCode(error: AppError): number {
  if (error.status === 404) return EXIT_NOT_FOUND;
  if (error.status === 409) return EXIT_CONFLICT;
  if (error.status === 503) return EXIT_UNAVAILABLE;
  if (error.status >= 400 && error.status < 500) return EXIT_INVALID_INPUT;
  return EXIT_FAILURE;
}

/** Commander's own: help or version printed (0), else a usage error (its message starts "error: "). */
function usageFailure(error: CommanderError): Failure {
  if (error.exitCode === EXIT_OK) return { exitCode: EXIT_OK, code: 'ok', message: '', unexpected: false };
  // A group typed without its command answers with its help, not with a message.
  const message = error.code === 'commander.help' ? 'a command is missing: see --help' : error.message.replace(/^error: /, '');
  return { exitCode: EXIT_USAGE, code: 'usage', message, unexpected: false };
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(describe).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
