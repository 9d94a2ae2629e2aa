// Replicated Redis of a test's own, made of real redis-server processes on free loopback ports, nothing kept on disk:
// a 3-primary Redis Cluster, and a primary + replica watched by 3 sentinels. Each is stopped and its files removed
// by `remove()`; everything started is bounded in time.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { HostPort, RedisConfig } from '../../config/index.js';
import { freePort, freePorts } from './free-port.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
const run = promisify(execFile);

/** One redis-server (or sentinel) process of a topology. */
export interface RedisNode {
  readonly port: number;
  /** kill -9: the node is gone at once, as in a crash. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the node keeps its connections and answers nothing meanwhile. */
  freeze(): void;
  thaw(): void;
  readonly alive: boolean;
}

/** A node that exited while the test waited for it: no use waiting longer. */
class NodeExited extends Error {}

async function untilTrue(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let error: unknown;
    try {
      if (await check()) return;
    } catch (caught) {
      if (caught instanceof NodeExited) throw caught;
      error = caught;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`, { cause: error });
    await sleep(50);
  }
}

/** A short-lived connection for one question to one node. */
async function ask<T>(port: number, question: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await question(redis);
  } finally {
    redis.disconnect();
  }
}

/** Whether nothing listens on this loopback port now. */
async function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (listening) await new Promise<void>((resolve) => probe.close(() => resolve()));
  return listening;
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await portIsFree(port + 10_000))) return port;
  }
}

function spawnNode(dir: string, args: string[], port: number): RedisNode {
  const child: ChildProcess = spawn(REDIS_SERVER, args, { stdio: 'ignore', cwd: dir });
  return {
    port,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Whether the node answers; an error that ends the wait if it exited (its port taken meanwhile, say). */
async function started(node: RedisNode): Promise<boolean> {
  if (!node.alive) throw new NodeExited(`redis-server on ${node.port} exited`);
  return (await ask(node.port, (redis) => redis.ping())) === 'PONG';
}

export interface RedisCluster {
  readonly nodes: readonly RedisNode[];
  /** The server's configuration for this cluster (AUTH_REDIS_CLUSTER_NODES). */
  config(prefix?: string): RedisConfig;
  remove(): Promise<void>;
}

/** A Redis Cluster of three primaries and no replicas (redis-cli --cluster create), every slot covered. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'chillfi3-redis-cluster-'));
  const nodes: RedisNode[] = [];
  const remove = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await clusterPort());
    for (const port of ports) {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes'];
      args.push('--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000');
      nodes.push(spawnNode(dir, args, port));
    }
    for (const node of nodes) await untilTrue(() => started(node), `redis-server ${node.port}`);
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run(REDIS_CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    for (const node of nodes) {
      await untilTrue(async () => (await ask(node.port, (redis) => redis.cluster('INFO'))).includes('cluster_state:ok'), 'cluster_state:ok');
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const hostPorts: HostPort[] = nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  return {
    nodes,
    config: (prefix = '') => ({ topology: { kind: 'cluster', nodes: hostPorts, password: undefined }, prefix, waitReplicas: 0 }),
    remove,
  };
}

export interface RedisSentinelSet {
  readonly name: string;
  /** The data nodes: the first starts as the primary, the second replicates it. */
  readonly servers: readonly RedisNode[];
  readonly sentinels: readonly RedisNode[];
  config(options?: { prefix?: string; waitReplicas?: number }): RedisConfig;
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  remove(): Promise<void>;
}

/** Sentinel's failure detection, in ms: the primary is seen down after this long without an answer. */
export const SENTINEL_DOWN_AFTER_MS = 1000;

/**
 * A primary, one replica and three sentinels (quorum 2) watching them, with short timeouts: a killed primary is
 * replaced within a few seconds.
 */
export async function startRedisSentinels(): Promise<RedisSentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'chillfi3-redis-sentinel-'));
  const name = 'chillfi3';
  const servers: RedisNode[] = [];
  const sentinels: RedisNode[] = [];
  const remove = async (): Promise<void> => {
    await Promise.all([...sentinels, ...servers].map((node) => node.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [primary, replica, ...sentinelPorts] = (await freePorts(5)) as [number, number, ...number[]];
    const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    servers.push(spawnNode(dir, ['--port', String(primary), ...base], primary));
    servers.push(spawnNode(dir, ['--port', String(replica), ...base, '--replicaof', '127.0.0.1', String(primary)], replica));
    for (const node of servers) await untilTrue(() => started(node), `redis-server ${node.port}`);
    await untilTrue(
      async () => (await ask(replica, (redis) => redis.info('replication'))).includes('master_link_status:up'),
      'replica in sync',
    );
    for (const port of sentinelPorts) {
      // A sentinel rewrites its configuration file: each has its own.
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${name} ${SENTINEL_DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(spawnNode(dir, [file, '--sentinel'], port));
    }
    for (const node of sentinels) {
      // Ready once each sentinel knows the replica and the other two sentinels.
      await untilTrue(async () => {
        const [master] = (await ask(node.port, (redis) => redis.call('SENTINEL', 'MASTERS'))) as string[][];
        const fields = new Map<string, string>();
        for (let at = 0; at + 1 < (master ?? []).length; at += 2) fields.set(master![at]!, master![at + 1]!);
        return fields.get('num-slaves') === '1' && fields.get('num-other-sentinels') === '2';
      }, `sentinel ${node.port}`);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const hostPorts: HostPort[] = sentinels.map((node) => ({ host: '127.0.0.1', port: node.port }));
  return {
    name,
    servers,
    sentinels,
    config: ({ prefix = '', waitReplicas = 0 } = {}) => ({
      topology: { kind: 'sentinel', sentinels: hostPorts, name, sentinelPassword: undefined, password: undefined },
      prefix,
      waitReplicas,
    }),
    async primaryPort() {
      const alive = sentinels.find((node) => node.alive)!;
      const [, port] = (await ask(alive.port, (redis) => redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as string[];
      return Number(port);
    },
    remove,
  };
}
