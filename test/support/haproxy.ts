// Debian's haproxy, started by a test with a configuration it writes, on loopback ports: in front of several auth
// nodes, or of a PostgreSQL primary and its standby (deploy/haproxy/). Stopped, and its files removed, by `stop()`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Haproxy {
  /** The folder of its configuration, for files the configuration names. */
  readonly dir: string;
  /** What haproxy wrote so far (alerts, servers going down and up): for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts haproxy in the foreground (-db) with `config` (the `global` and `defaults` sections included) and waits until
 * `port` accepts connections. `config` is given the folder it is written to, for other files it names.
 */
export async function startHaproxy(config: (dir: string) => string, port: number): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'chillfi3-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config(dir));
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; !(await listening(port)); attempt++) {
    if (child.exitCode !== null || attempt === 100) {
      await stop();
      throw new Error(`haproxy did not start: ${errors}`);
    }
    await sleep(50);
  }
  return { dir, log: () => errors, stop };
}
