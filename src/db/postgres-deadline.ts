// node-postgres as TypeORM is given it (DataSourceOptions.driver): the same module, with a pool whose every checkout and
// statement made within a request is bounded by what is left of the request's database time (store-budget.ts). The
// rate limiters share this pool (src/security/rate-limiter-store.ts), so their statements are bounded too.
import pg from 'pg';
import { storeBudget, withinBudget, type StoreBudget } from './store-budget.js';

/**
 * How much longer the client waits for an answer than the server lets a statement run: a statement the server cancels
 * (statement_timeout) leaves its connection clean, so the server should have the first word when the request has its
 * whole time left; the client's own limit (query_timeout) is for a server that cannot answer at all, e.g. frozen.
 */
export const CLIENT_WAIT_MARGIN_MS = 250;

type QueryArguments = [config: unknown, values?: unknown, callback?: unknown];
type Callback = (error: Error | null, result?: unknown) => void;

/**
 * One statement within the request's budget: refused at once when the time is up, else sent with the time left (plus
 * the margin) as its query_timeout, which also takes it out of the connection's queue if it was not sent yet. Queries
 * given as objects that run themselves (cursors, streams) keep the configured timeout.
 */
function boundedQuery(client: pg.Client, query: (...args: QueryArguments) => unknown, budget: StoreBudget, args: QueryArguments): unknown {
  const [config, second, third] = args;
  const callback = (typeof third === 'function' ? third : typeof second === 'function' ? second : undefined) as Callback | undefined;
  const values = typeof second === 'function' ? undefined : second;
  const queryConfig = typeof config === 'string' ? { text: config } : (config as object);
  if (typeof (queryConfig as { submit?: unknown }).submit === 'function') return query.apply(client, args);
  const remainingMs = budget.remainingMs();
  if (remainingMs <= 0) {
    const error = budget.timeUp();
    if (!callback) return Promise.reject(error);
    process.nextTick(callback, error);
    return undefined;
  }
  const end = budget.startWait();
  const bounded = { ...queryConfig, query_timeout: Math.ceil(remainingMs) + CLIENT_WAIT_MARGIN_MS };
  if (callback) {
    return query.call(client, bounded, values, (error: Error | null, result?: unknown) => {
      end(error ?? undefined);
      callback(error, result);
    });
  }
  const result = query.call(client, bounded, values) as Promise<unknown>;
  result.then(() => end(), end);
  return result;
}

/** A connection whose statements made within a request are bounded by the request's database time. */
class DeadlineClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: QueryArguments) => unknown;
    // pg's query has a dozen overloads (text or config, values, callback); they all come through here as they are.
    this.query = ((...args: QueryArguments) => {
      const budget = storeBudget('database');
      return budget ? boundedQuery(this, query, budget, args) : query(...args);
    }) as pg.Client['query'];
  }
}

type ConnectCallback = (error: Error | undefined, client?: pg.PoolClient, release?: (error?: Error | boolean) => void) => void;

/** The pool of DeadlineClients; a checkout within a request waits at most the request's database time left. */
class DeadlinePool extends pg.Pool {
  constructor(config?: pg.PoolConfig) {
    super({ ...config, Client: DeadlineClient });
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const budget = storeBudget('database');
    if (!budget) return callback ? super.connect(callback as Parameters<pg.Pool['connect']>[0]) : super.connect();
    const checkout = super.connect();
    const bounded = withinBudget(budget, () => checkout);
    // A connection that comes after the request gave up on it goes straight back to the pool.
    bounded.catch(() => checkout.then((client) => client.release(), () => undefined));
    if (!callback) return bounded;
    bounded.then(
      (client) => callback(undefined, client, (error) => client.release(error)),
      (error: Error) => callback(error),
    );
  }
}

/** The `pg` module with the pool above: TypeORM's `driver` option for PostgreSQL. */
export const deadlinePg: typeof pg = Object.create(pg, { Pool: { value: DeadlinePool } }) as typeof pg;
