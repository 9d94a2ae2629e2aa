// The Redis connection every part of the server shares, made to fail fast: a request that needs Redis while it is
// down or frozen gets its answer (503) within the timeout, instead of queueing behind a reconnection.
import { Redis } from 'ioredis';

/** Longest pause between two reconnection attempts: a Redis that comes back is in use again within about this. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * Connects (the promise settles once Redis is ready) with `timeoutMs` (AUTH_REDIS_TIMEOUT_MS) bounding the connection
 * and every command, and without the offline queue: while disconnected, commands fail at once and reconnection goes
 * on in the background. Commands in flight when the connection drops fail rather than being sent again after it
 * returns (maxRetriesPerRequest 0): a consume or a counter may already have been applied once.
 */
export async function connectRedis(url: string, timeoutMs: number): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    // The commands concurrent requests issue in one tick (revocation checks, counters) go out in one write.
    enableAutoPipelining: true,
  });
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
