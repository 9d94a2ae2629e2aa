// A PostgreSQL primary with a streaming standby, made by a test (initdb, pg_basebackup -R), and haproxy in front of
// both with the check that passes only for the writable node (deploy/haproxy/postgres-writable-check): what the
// production profile runs. Failover is a promotion of the standby (pg_ctl promote). Every process on its own loopback
// port, its files in a temporary folder owned by the postgres OS user, all removed by `remove()`.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePorts } from './free-port.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { asPostgres } from './store-processes.js';

const WRITABLE_CHECK = resolve(fileURLToPath(new URL('../../deploy/haproxy/postgres-writable-check', import.meta.url)));

/**
 * How often haproxy checks each node, in ms: a promoted standby takes writes within about this. haproxy also kills an
 * external check that runs longer than this, and each one starts psql, which on a busy machine takes a few hundred ms.
 */
export const CHECK_INTERVAL_MS = 2000;

export interface PostgresNode {
  readonly port: number;
  readonly data: string;
  /** kill -9 of the postmaster: the node is gone as in a crash (its backends exit with it). */
  kill(): void;
  /** pg_ctl promote: a standby becomes a primary. */
  promote(): void;
  stop(): void;
}

export interface ReplicatedPostgres {
  readonly primary: PostgresNode;
  readonly standby: PostgresNode;
  /** The URL of a database through haproxy (the server's AUTH_DATABASE_URL). */
  readonly url: string;
  /** A database of its own, made on the primary (and streamed to the standby); its URL through haproxy. */
  createDatabase(): Promise<string>;
  /** What the balancer wrote (servers going down and up). */
  balancerLog(): string;
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  remove(): Promise<void>;
}

async function query<T extends pg.QueryResultRow>(port: number, sql: string, database = 'postgres'): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`, { cause: error });
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function node(data: string, port: number): PostgresNode {
  let killed = false;
  return {
    port,
    data,
    kill() {
      killed = true;
      try {
        const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(postmaster, 'SIGKILL');
      } catch {
        // Not running.
      }
    },
    promote: () => asPostgres('pg_ctl', ['-D', data, '-w', 'promote']),
    stop() {
      // A killed postmaster leaves its pid file: nothing to stop (its backends end when they see it gone).
      if (killed) return;
      try {
        asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Not running.
      }
    },
  };
}

function startNode(dir: string, data: string, port: number): void {
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', `${data}.log`, '-w', 'start']);
}

/** The primary, its standby in sync, and haproxy in front sending connections to the writable one. */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'chillfi3-pg-replicated-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  const [primaryPort, standbyPort, proxyPort] = await freePorts(3);
  const primary = node(join(dir, 'primary'), primaryPort!);
  const standby = node(join(dir, 'standby'), standbyPort!);
  let haproxy: Haproxy | undefined;
  const remove = async (): Promise<void> => {
    await haproxy?.stop();
    primary.stop();
    standby.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // initdb -A trust also trusts replication connections from 127.0.0.1.
    asPostgres('initdb', ['-D', primary.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
    startNode(dir, primary.data, primary.port);
    // The role the balancer's check logs in as (deploy/haproxy/postgres-writable-check); the standby copies it.
    await query(primary.port, 'CREATE ROLE haproxy_check LOGIN');
    // -R writes standby.signal and the primary's address: the copy starts as a streaming standby.
    asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', standby.data, '-R', '-X', 'stream', '--no-sync']);
    startNode(dir, standby.data, standby.port);
    await until(async () => (await query(primary.port, 'SELECT 1 FROM pg_stat_replication')).length === 1, 'standby streaming');
    haproxy = await startHaproxy(
      () => `
global
  external-check
  insecure-fork-wanted
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
listen postgres
  bind 127.0.0.1:${proxyPort}
  option external-check
  external-check path "/usr/bin:/bin"
  external-check command ${WRITABLE_CHECK}
  # Two failed checks in a row before a node is down: one slow psql must not cut the primary's connections.
  default-server inter ${CHECK_INTERVAL_MS} fall 2 rise 1 on-marked-down shutdown-sessions
  server primary 127.0.0.1:${primary.port} check
  server standby 127.0.0.1:${standby.port} check
`,
      proxyPort!,
    );
    // haproxy counts a server up until its first check fails: ready once ten connections in a row reach the primary.
    await until(async () => {
      for (let connection = 0; connection < 10; connection++) {
        if ((await query<{ r: boolean }>(proxyPort!, 'SELECT pg_is_in_recovery() AS r'))[0]?.r !== false) return false;
      }
      return true;
    }, 'haproxy to the primary only');
  } catch (error) {
    const log = haproxy?.log();
    await remove();
    throw log ? new Error(`${(error as Error).message}; haproxy: ${log}`, { cause: error }) : error;
  }
  const url = `postgres://postgres@127.0.0.1:${proxyPort}/postgres`;
  return {
    primary,
    standby,
    url,
    async createDatabase() {
      const name = `chillfi3_failover_${Math.random().toString(36).slice(2, 10)}`;
      await query(primary.port, `CREATE DATABASE ${name}`);
      const database = new URL(url);
      database.pathname = `/${name}`;
      return database.toString();
    },
    balancerLog: () => haproxy?.log() ?? '',
    async caughtUp() {
      const [{ lsn }] = (await query<{ lsn: string }>(primary.port, 'SELECT pg_current_wal_lsn() AS lsn')) as [{ lsn: string }];
      await until(
        async () => (await query<{ behind: boolean }>(standby.port, `SELECT pg_last_wal_replay_lsn() < '${lsn}'::pg_lsn AS behind`))[0]?.behind === false,
        'standby caught up',
      );
    },
    remove,
  };
}
