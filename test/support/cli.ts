import { Readable } from 'node:stream';
import { expect } from 'chai';
import { runCli } from '../../src/cli/program.js';
import { servicesOn } from '../../src/services.js';

/** Cheap argon2 for tests (the config's minimum memory). */
export const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command in-process with captured streams. */
export async function cli(env: Record<string, string>, argv: string[], stdin = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([Buffer.from(stdin)]),
    env: { NODE_ENV: 'test', ...FAST_ARGON2, ...env },
  }, servicesOn);
  return { code, stdout, stderr };
}

/** Runs the command with --json, expects exit 0, and parses its document. */
export async function cliJson<T>(env: Record<string, string>, argv: string[], stdin = ''): Promise<T> {
  const run = await cli(env, [...argv, '--json'], stdin);
  expect(run.code, run.stderr).to.equal(0);
  return JSON.parse(run.stdout) as T;
}
