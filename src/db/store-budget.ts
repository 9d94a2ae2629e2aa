// One deadline per request for each store. A request may wait on the database for AUTH_DB_TIMEOUT_MS and on Redis for
// AUTH_REDIS_TIMEOUT_MS in all, not per call: every call it makes to a store is bounded by what is left of that time,
// so a frozen store answers the request (503) within its timeout, however many calls the request would have made.
// The budget travels with the request's async context (AsyncLocalStorage, set at the edge by src/http/request-deadline.ts),
// so store calls deep inside oidc-provider see it without anything threaded through the provider; the driver
// wrappers (postgres-deadline.ts, redis-deadline.ts) read it. Work outside a request (the key watch, store pings, the
// CLI) has no budget: the drivers' own timeouts bound each of its calls.
import { AsyncLocalStorage } from 'node:async_hooks';
import { StoreUnavailable } from '../errors.js';
import { isStoreFailure } from './store-failure.js';

export type StoreName = 'database' | 'redis';

/**
 * What a request may still wait on one store: its timeout less the time it has already spent waiting on it. Time is
 * counted while at least one call is pending, once however many overlap, so the CPU a request spends between its
 * calls (a password hash, say) costs it nothing. Once a call has failed as unavailable (a timeout, a refused
 * connection), the store is not asked again in this request: the answer is already a 503.
 */
export class StoreBudget {
  #spentMs = 0;
  #pending = 0;
  #pendingSince = 0;
  #failed = false;

  constructor(
    readonly store: StoreName,
    readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Milliseconds this request may still wait on the store; 0 or less once spent or after a failure. */
  remainingMs(): number {
    if (this.#failed) return 0;
    const current = this.#pending > 0 ? this.now() - this.#pendingSince : 0;
    return this.timeoutMs - this.#spentMs - current;
  }

  /** Starts waiting on the store; call what it returns when the call settles, with its error if it failed. */
  startWait(): (error?: unknown) => void {
    if (this.#pending++ === 0) this.#pendingSince = this.now();
    let ended = false;
    return (error?: unknown) => {
      if (ended) return;
      ended = true;
      if (--this.#pending === 0) this.#spentMs += this.now() - this.#pendingSince;
      if (error !== undefined && isStoreFailure(error)) this.#failed = true;
    };
  }

  /** Marks the request's time for the store up; the error of the call refused or cut short for it (a 503). */
  timeUp(): StoreUnavailable {
    this.#failed = true;
    return new StoreUnavailable(new Error(`no answer from the ${this.store} within the request's ${this.timeoutMs} ms`));
  }
}

/** A request's budgets, one per store. */
export class RequestDeadline {
  readonly database: StoreBudget;
  readonly redis: StoreBudget;

  constructor({ databaseMs, redisMs }: { databaseMs: number; redisMs: number }) {
    this.database = new StoreBudget('database', databaseMs);
    this.redis = new StoreBudget('redis', redisMs);
  }
}

const requests = new AsyncLocalStorage<RequestDeadline>();

/** Runs `work` (a request's handling) with `deadline` as the budget of every store call made within it. */
export function withinDeadline<T>(deadline: RequestDeadline, work: () => T): T {
  return requests.run(deadline, work);
}

/**
 * Runs `work` on budgets of its own, as whole as the current request's were at its start (none outside a request): for
 * each part of an answer that goes on for as long as there is data (a page of an export), which no one bound can fit.
 */
export function withRenewedDeadline<T>(work: () => Promise<T>): Promise<T> {
  const current = requests.getStore();
  if (!current) return work();
  return requests.run(new RequestDeadline({ databaseMs: current.database.timeoutMs, redisMs: current.redis.timeoutMs }), work);
}

/** The current request's budget for `store`; none outside a request. */
export function storeBudget(store: StoreName): StoreBudget | undefined {
  return requests.getStore()?.[store];
}

/**
 * Runs one store call within the budget: refused at once when nothing is left, else given up (503) when the time left
 * runs out first. For calls the driver cannot bound itself; the call given up on is not cancelled, it ends within the
 * driver's own timeout.
 */
export async function withinBudget<T>(budget: StoreBudget, call: () => Promise<T>): Promise<T> {
  const remainingMs = budget.remainingMs();
  if (remainingMs <= 0) throw budget.timeUp();
  const end = budget.startWait();
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(budget.timeUp()), Math.ceil(remainingMs));
  });
  try {
    const result = await Promise.race([call(), timeUp]);
    end();
    return result;
  } catch (error) {
    end(error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
