import { spawn, type ChildProcess } from 'node:child_process';

/** The server as `npm start` runs it, from source, in its own process. */
export function startMain(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'info', ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Everything the process has written so far, stdout and stderr together. */
export function output(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

export async function waitForLog(read: () => string, pattern: RegExp, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (pattern.test(read())) return;
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${pattern} in: ${read()}`);
}
