// The one place that makes rate limiters, on the store every node of the deployment shares: Redis when it is
// configured, else the database (PostgreSQL or the embedded SQLite file). A limit kept in process memory would give
// every node, and every worker, a budget of its own.
import type { Redis } from 'ioredis';
import {
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterSQLite,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import type { AbstractSqliteDriver } from 'typeorm/driver/sqlite-abstract/AbstractSqliteDriver.js';

/** The table of every database-backed limiter (created by the RateLimits migration; keys carry the limiter's prefix). */
export const RATE_LIMITS_TABLE = 'rate_limits';

/** How often expired rows are deleted from the table (Redis expires its keys itself). */
const PURGE_INTERVAL_MS = 5 * 60_000;

/** Where the limiters keep their counters. */
export type LimiterBackend = (
  | { readonly store: 'redis'; readonly redis: Redis }
  | { readonly store: 'database'; readonly dataSource: DataSource }
) & {
  /** Deletes the counters whose window has ended; returns how many (always 0 on Redis). */
  purgeExpired(): Promise<number>;
  /** Stops the periodic purge. The connections stay their owner's to close. */
  close(): void;
};

/**
 * The backend on the deployment's stores. On the database it purges expired rows every few minutes, on one timer
 * for all its limiters that does not keep the process alive; every limiter is made with the library's own
 * per-limiter timer off, since that timer cannot be stopped and would query the database after it is closed.
 */
export function limiterBackend({ dataSource, redis }: { dataSource: DataSource; redis: Redis | undefined }): LimiterBackend {
  if (redis) return { store: 'redis', redis, purgeExpired: async () => 0, close() {} };
  async function purgeExpired(): Promise<number> {
    const result = await dataSource
      .createQueryBuilder()
      .delete()
      .from(RATE_LIMITS_TABLE)
      .where('expire <= :now', { now: Date.now() })
      .execute();
    return result.affected ?? 0;
  }
  const timer = setInterval(() => {
    // Expired rows are only dead weight (the limiters ignore and overwrite them): a failed purge waits for the next.
    purgeExpired().catch(() => undefined);
  }, PURGE_INTERVAL_MS).unref();
  return { store: 'database', dataSource, purgeExpired, close: () => clearInterval(timer) };
}

/** A limiter of `points` per `duration` seconds for each key, its keys under `keyPrefix`, on the backend's store. */
export function createRateLimiter(
  backend: LimiterBackend,
  options: { keyPrefix: string; points: number; duration: number },
): RateLimiterAbstract {
  // Not ready (disconnected, reconnecting): refused at once, without a command to wait for (a 503 at the edge).
  if (backend.store === 'redis') return new RateLimiterRedis({ ...options, storeClient: backend.redis, rejectIfRedisNotReady: true });
  const { driver } = backend.dataSource;
  const table = { tableName: RATE_LIMITS_TABLE, tableCreated: true, clearExpiredByTimeout: false };
  if (driver.options.type === 'postgres') {
    return new RateLimiterPostgres({ ...options, ...table, storeClient: (driver as PostgresDriver).master, storeType: 'pool' });
  }
  return new RateLimiterSQLite({
    ...options,
    ...table,
    storeClient: (driver as AbstractSqliteDriver).databaseConnection,
    storeType: 'better-sqlite3',
  });
}

/**
 * The points consumed now under each limiter and key (0 for none), read in one round trip on Redis, where each
 * limiter's own `get` would be a MULTI of its own: what a check made before every authenticated call needs.
 */
export async function consumedPoints(backend: LimiterBackend, entries: readonly (readonly [RateLimiterAbstract, string])[]): Promise<number[]> {
  if (backend.store === 'redis') {
    const { redis } = backend;
    const keys = entries.map(([limiter, key]) => limiter.getKey(key));
    // On a Redis Cluster the keys live in different slots: one GET each, sent together, instead of a CROSSSLOT MGET.
    const values = redis.isCluster ? await Promise.all(keys.map((key) => redis.get(key))) : await redis.mget(keys);
    return values.map((value) => (value === null ? 0 : Number.parseInt(value, 10)));
  }
  const states = await Promise.all(entries.map(([limiter, key]) => limiter.get(key)));
  return states.map((state) => state?.consumedPoints ?? 0);
}
