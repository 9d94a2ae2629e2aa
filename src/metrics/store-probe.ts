// Whether the stores answer: one ping to the database and one to Redis (when configured), each bounded, for GET
// /readyz and, with metrics on, on a timer of its own. Every ping feeds the store_* metrics. (Outages are logged by
// the stores' own watch, src/db/store-watch.ts.)
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../../config/index.js';
import { storeErrors, storePingDuration, storeUp } from './metrics.js';

export type StoreState = 'ok' | 'down';

export interface StoreStates {
  database: StoreState;
  /** Absent when no Redis is configured. */
  redis?: StoreState;
}

export interface ProbedStores {
  config: Config;
  dataSource: DataSource;
  redis: Redis | undefined;
}

/**
 * Rejects when `work` has not settled within `ms`. The drivers' own timeouts (AUTH_DB_TIMEOUT_MS,
 * AUTH_REDIS_TIMEOUT_MS) bound each connection and statement; this bounds the whole ping whatever the driver does.
 */
async function withinTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class StoreProbe {
  readonly #stores: ProbedStores;

  constructor(stores: ProbedStores) {
    this.#stores = stores;
  }

  /** Pings every store at once; resolves within the stores' timeouts whatever the stores do. */
  async check(): Promise<StoreStates> {
    const { config, dataSource, redis } = this.#stores;
    const { databaseMs, redisMs } = config.storeTimeouts;
    const [database, redisState] = await Promise.all([
      this.#ping('database', databaseMs, () => dataSource.query('SELECT 1')),
      redis && this.#ping('redis', redisMs, () => redis.ping()),
    ]);
    return redisState ? { database, redis: redisState } : { database };
  }

  /** Pings every `intervalMs`, until the database is closed (services.close()); never keeps the process alive. */
  pingEvery(intervalMs: number): void {
    const timer = setInterval(() => {
      if (this.#stores.dataSource.isInitialized) void this.check();
      else clearInterval(timer);
    }, intervalMs);
    timer.unref();
  }

  async #ping(store: keyof StoreStates, timeoutMs: number, ping: () => Promise<unknown>): Promise<StoreState> {
    const stop = storePingDuration.startTimer({ store });
    try {
      await withinTimeout(ping(), timeoutMs);
      storeUp.set({ store }, 1);
      return 'ok';
    } catch {
      storeErrors.inc({ store });
      storeUp.set({ store }, 0);
      return 'down';
    } finally {
      stop();
    }
  }
}
