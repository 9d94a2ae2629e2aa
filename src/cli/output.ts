// How a run shows its result: a command returns an Output, printed as one JSON document with --json and as lines
// otherwise; whatever a run throws becomes `error: <message>` on stderr and an exit code, chosen here once:
// 0 ok, 1 a refused operation (AppError) or a failure, 2 a usage error, 78 a bad configuration (EX_CONFIG).
import { CommanderError, type Command } from 'commander';
import { ConfigError } from '../../config/index.js';
import { AppError } from '../errors.js';
import type { CliIo } from './context.js';

export const EXIT_OK = 0;
const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
const EXIT_CONFIG = 78;

/** What a command prints: `json` with --json, otherwise `lines`; `warnings` on stderr either way. */
export interface Output {
  json: unknown;
  lines: string[];
  warnings?: string[];
}

/** A commander action that runs `work` (given the action's arguments) and prints its Output as --json asks. */
export function printed<Args extends unknown[]>(io: CliIo, work: (...args: Args) => Promise<Output>) {
  return async function print(this: Command, ...args: Args): Promise<void> {
    const output = await work(...args);
    for (const warning of output.warnings ?? []) io.stderr.write(`warning: ${warning}\n`);
    io.stdout.write(wantsJson(this) ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.lines.join('\n')}\n`);
  };
}

/** --json is a program-wide option: every command takes it, before or after its name. */
export function wantsJson(command: Command): boolean {
  return command.optsWithGlobals<{ json?: boolean }>().json === true;
}

/** Stops the run with a usage error of `command`: the message, then that command's help, on stderr (exit 2). */
export function usageError(command: Command, message: string): never {
  return command.error(`error: ${message}`, { exitCode: EXIT_USAGE });
}

/** The exit code for what a run threw, after printing it the way its kind deserves. */
export function exitCodeFor(error: unknown, io: CliIo): number {
  // Commander has printed its errors (with the usage after them) and the help it was asked for: only the code is left.
  if (error instanceof CommanderError) return error.exitCode === EXIT_OK ? EXIT_OK : EXIT_USAGE;
  if (error instanceof ConfigError) {
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT_CONFIG;
  }
  if (error instanceof AppError) {
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  // Operational failures (database unreachable, bad credentials, unwritable folder) carry a code: no stack for them.
  const code = (error as { code?: unknown } | null)?.code;
  const stack = typeof code === 'string' || !(error instanceof Error) ? '' : `\n${error.stack ?? ''}`;
  io.stderr.write(`error: ${describe(error)}${stack}\n`);
  return EXIT_FAILURE;
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(describe).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Rows under headers, in columns two spaces apart. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
