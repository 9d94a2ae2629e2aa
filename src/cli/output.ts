// How a run shows its result: a command returns an Output, printed as one JSON document with --json and as lines
// otherwise; whatever a run throws becomes `error: <message>` on stderr (with --json, an error document on stdout)
// and the exit code of its kind (src/cli/exit-codes.ts).
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import type { CliIo } from './context.js';
import { EXIT_OK, EXIT_USAGE, failureOf } from './exit-codes.js';

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

/**
 * Prints what a run threw and resolves to its exit code (src/cli/exit-codes.ts says which). With --json, stdout holds
 * one document whatever happens: the result, or {"error": {"code", "message"}}.
 */
export function reportFailure(error: unknown, io: CliIo, json: boolean): number {
  const failure = failureOf(error);
  if (failure.exitCode === EXIT_OK) return EXIT_OK;
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message } }, null, 2)}\n`);
  } else if (!(error instanceof CommanderError)) {
    // Commander has printed its own errors, with the usage after them.
    const stack = failure.unexpected && error instanceof Error ? `\n${error.stack ?? ''}` : '';
    io.stderr.write(`error: ${failure.message}${stack}\n`);
  }
  return failure.exitCode;
}

/** Whether a command line asks for --json: known before commander has parsed it, so that usage errors answer too. */
export function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
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

/** A --limit option's parser: a whole number from 1 to `max`. */
export function pageSize(max: number): (value: string) => number {
  return (value) => {
    const limit = Number(value);
    if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new InvalidArgumentError(`give a whole number from 1 to ${max}`);
    return limit;
  };
}
