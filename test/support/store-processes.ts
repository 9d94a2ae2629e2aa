// Stores of a test's own, in processes it may kill, stop, freeze and thaw: the fault tests must never do that to the
// shared PostgreSQL and Redis. Each runs on a free loopback port, its files in a temporary folder removed at the end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from './free-port.js';

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const REDIS_SERVER = '/usr/bin/redis-server';

export interface StoreProcess {
  url: string;
  /** Stops the store: `kill -9` for Redis, a fast shutdown for PostgreSQL (which ends every connection). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, once it answers. */
  start(): Promise<void>;
  /** SIGSTOP to every process of the store: connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Stops it for good and removes its files. */
  remove(): Promise<void>;
}

async function until(ready: () => Promise<unknown>, what: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ready();
      return;
    } catch (error) {
      if (attempt === 200) throw new Error(`${what} did not start`, { cause: error });
      await sleep(50);
    }
  }
}

/** A redis-server with an append-only file (fsync always), so that a restart keeps what it had. */
export async function startRedisProcess(): Promise<StoreProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'chillfi3-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
    child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    await until(async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
      } finally {
        probe.disconnect();
      }
    }, 'redis-server');
  }

  async function stop(): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    url,
    start,
    stop,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async remove() {
      child?.kill('SIGCONT');
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresCluster extends StoreProcess {
  /** A fresh, empty database in this cluster; its URL. */
  createDatabase(): Promise<string>;
}

/** The cluster's files belong to the postgres OS user: initdb and the server refuse to run as root. */
export function asPostgres(command: string, args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, command), ...args], { encoding: 'utf8' });
}

/** A PostgreSQL 15 cluster of its own (initdb, pg_ctl), trust authentication, user postgres; no fsync (test speed). */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'chillfi3-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;

  async function query(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  async function start(): Promise<void> {
    asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
    await until(() => query('SELECT 1'), 'PostgreSQL');
  }

  async function stop(): Promise<void> {
    asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  }

  /** The postmaster and every backend it forked. */
  function processes(): number[] {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let children = '';
    try {
      children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' });
    } catch {
      // pgrep exits 1 when there is no child.
    }
    return [postmaster, ...children.split('\n').filter(Boolean).map(Number)];
  }

  await start();
  return {
    url,
    start,
    stop,
    freeze: () => processes().forEach((pid) => process.kill(pid, 'SIGSTOP')),
    thaw: () => processes().forEach((pid) => process.kill(pid, 'SIGCONT')),
    async createDatabase() {
      const name = `chillfi3_fault_${Math.random().toString(36).slice(2, 10)}`;
      await query(`CREATE DATABASE ${name}`);
      const database = new URL(url);
      database.pathname = `/${name}`;
      return database.toString();
    },
    async remove() {
      try {
        processes().forEach((pid) => process.kill(pid, 'SIGCONT'));
        await stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
