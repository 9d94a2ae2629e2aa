import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

export interface OwnRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * A redis-server of our own on a free loopback port, nothing kept on disk, with extra configuration lines as
 * command-line arguments (e.g. `--maxmemory-policy allkeys-lru`): for tests and benches that must not touch the shared
 * Redis or its settings.
 */
export async function startOwnRedis(args: string[] = []): Promise<OwnRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`redis-server ${args.join(' ')} exited with ${child.exitCode}`);
      try {
        await probe.connect();
        await probe.ping();
        return { url, stop };
      } catch (error) {
        if (attempt === 100) throw error;
        probe.disconnect();
        await sleep(50);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.disconnect();
  }
}
