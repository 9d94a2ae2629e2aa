// Warns at start when the connected Redis may evict keys. Sessions, grants and refresh tokens live there, and a
// consumed refresh token is kept only so that its reuse is caught: a Redis that evicts it under memory pressure
// silently turns reuse detection off, and one that evicts sessions or grants signs people out at random.
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** The one maxmemory policy that never evicts. volatile-* evict keys with a lifetime, and every key here has one. */
const NON_EVICTING_POLICY = 'noeviction';

/** Logs one warning when Redis's maxmemory-policy evicts; a Redis that hides CONFIG (managed services) is let be. */
export async function checkRedisEviction(redis: Redis, logger: Logger): Promise<void> {
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch (err) {
    logger.debug({ err }, 'cannot read the Redis maxmemory-policy (CONFIG disabled?): eviction not checked');
    return;
  }
  const [, policy] = reply as string[];
  if (policy === undefined || policy === NON_EVICTING_POLICY) return;
  logger.warn(
    { maxmemoryPolicy: policy },
    `Redis maxmemory-policy "${policy}" evicts keys when memory runs out: sessions, grants and used refresh tokens ` +
      `can vanish, and with them refresh token reuse detection; set maxmemory-policy ${NON_EVICTING_POLICY} ` +
      '(docs/operations.md, "Redis sizing")',
  );
}
