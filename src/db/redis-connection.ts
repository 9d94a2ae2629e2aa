// The Redis connection every part of the server shares, made to fail fast: a request that needs Redis while it is
// down, frozen or failing over gets its answer (503) within the timeout, instead of queueing behind a reconnection.
// The one place that knows the three ways to reach Redis (AUTH_REDIS_URL, AUTH_REDIS_SENTINELS,
// AUTH_REDIS_CLUSTER_NODES); the rest of the server sees one ioredis client, whose key prefix is AUTH_REDIS_PREFIX.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../../config/index.js';

/** Longest pause between two reconnection attempts: a Redis that comes back is in use again within about this. */
const MAX_RECONNECT_DELAY_MS = 1000;

function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
}

/**
 * A node that answers READONLY is a former primary that came back as a replica after a failover while this connection
 * stayed on it: reconnect (through the sentinels, to the new primary). The command that got READONLY fails and is not
 * sent again, like every command in flight at a disconnection (see below).
 */
function reconnectOnReadOnly(error: Error): boolean {
  return error.message.startsWith('READONLY');
}

/**
 * Options of every connection, to one server, a Sentinel-watched primary or each Cluster node: `timeoutMs`
 * (AUTH_REDIS_TIMEOUT_MS) bounds the connection and every command; commands in flight when the connection drops fail
 * rather than being sent again after it returns (maxRetriesPerRequest 0), as a consume or a counter may already have
 * been applied once.
 */
function commonOptions(config: RedisConfig, timeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    keyPrefix: config.prefix,
    reconnectOnError: reconnectOnReadOnly,
  };
}

/**
 * The client for the configured topology, not connected yet. Without the offline queue: while disconnected, commands
 * fail at once and reconnection goes on in the background. Auto-pipelining sends the commands concurrent requests
 * issue in one tick (revocation checks, counters) in one write (per node, on a Cluster).
 *
 * A Cluster client is handed on typed as a Redis: ioredis gives both the same command interface (Commander), and the
 * server uses only commands both have; what differs (MULTI and multi-key commands across slots) is handled where they
 * are sent, by `isCluster` (adapters/redis.ts, src/security/rate-limiter-store.ts).
 */
function createClient(config: RedisConfig, timeoutMs: number): Redis {
  const options = commonOptions(config, timeoutMs);
  const { topology } = config;
  if (topology.kind === 'cluster') {
    const cluster = new Cluster(
      topology.nodes.map(({ host, port }) => ({ host, port })),
      {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: reconnectDelay,
        // A node failing over answers CLUSTERDOWN / TRYAGAIN for a moment: those fail (503) rather than waiting.
        retryDelayOnClusterDown: 0,
        slotsRefreshTimeout: timeoutMs,
        redisOptions: { ...options, password: topology.password },
      },
    );
    return cluster as unknown as Redis;
  }
  const shared = { ...options, enableOfflineQueue: false, enableAutoPipelining: true, retryStrategy: reconnectDelay };
  if (topology.kind === 'single') return new Redis(topology.url, shared);
  return new Redis({
    ...shared,
    sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
    name: topology.name,
    sentinelPassword: topology.sentinelPassword,
    password: topology.password,
    sentinelRetryStrategy: reconnectDelay,
    // Told of a new primary by the sentinels (+switch-master) rather than only when the old one stops answering.
    failoverDetector: true,
  });
}

/** Connects to the configured Redis; the promise settles once it is ready. */
export async function connectRedis(config: RedisConfig, timeoutMs: number): Promise<Redis> {
  const redis = createClient(config, timeoutMs);
  // ioredis also emits every connection error as an 'error' event, which unheard would be reported as unhandled. Each
  // one reaches its callers anyway, as a failed connect() or command; the server's store watch listens too.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return redis;
}
