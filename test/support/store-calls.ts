// What a test server asks its stores, request by request: every PostgreSQL statement and Redis command or batch that
// reaches the driver, attributed to the HTTP request it was made for (an AsyncLocalStorage of the test's own around
// the server's request listener), with the order in which calls were made and settled (a counter, not a clock).
// Calls outside any request (store pings, the key watch) are left out. The spies sit where the driver takes a call
// over, below anything the server wraps around it, so a call the server refuses itself never shows here.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { isStoreFailure } from '../../src/db/store-failure.js';
import type { TestServer } from './test-server.js';

export type Store = 'database' | 'redis';

export interface StoreCall {
  store: Store;
  what: string;
  /** Position among every call made and settled, in order. */
  made: number;
  settled?: number;
  /** It failed as a store that is unavailable (a timeout, a refused connection). */
  unavailable?: boolean;
}

export interface StoreCalls {
  /** Runs `request` (HTTP requests to the server, one at a time) with the calls they cause recorded under `label`. */
  during<T>(label: string, request: () => Promise<T>): Promise<T>;
  /** For requests sent at the same time: the header that files a request's calls under `label`. */
  header(label: string): Record<string, string>;
  /** The position of now among the calls' events: to place an answer among them. */
  mark(): number;
  /** The calls recorded under `label`. */
  of(label: string): StoreCall[];
  /** Puts the drivers back as they were. */
  restore(): void;
}

const LABEL_HEADER = 'x-store-calls-label';

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Records the store calls of `server`'s requests. The PostgreSQL spy is on node-postgres's Client prototype, so it
 * must be installed before the server opens its pool's connections (before startTestServer) to see every statement;
 * `attach` then hooks the server's request listener and its Redis connection.
 */
export function recordStoreCalls(): StoreCalls & { attach(server: TestServer): void } {
  const labels = new AsyncLocalStorage<string>();
  const calls = new Map<string, StoreCall[]>();
  let position = 0;
  let current: string | undefined;
  const restorers: (() => void)[] = [];

  function track<T>(store: Store, what: string, call: () => T): T {
    const label = labels.getStore();
    if (label === undefined) return call();
    const record: StoreCall = { store, what, made: position++ };
    calls.get(label)?.push(record);
    const settle = (error?: unknown) => {
      record.settled = position++;
      record.unavailable = error !== undefined && isStoreFailure(error);
    };
    const result = call();
    if (result instanceof Promise) result.then(() => settle(), settle);
    return result;
  }

  /** A driver method that takes a callback or returns a promise, recorded either way. */
  function spied<F extends (...args: never[]) => unknown>(store: Store, describe: (args: unknown[]) => string, method: F): F {
    return function spiedCall(this: unknown, ...args: unknown[]) {
      const callback = args.findLast((arg) => typeof arg === 'function') as ((error?: Error | null, ...results: unknown[]) => void) | undefined;
      if (!callback) return track(store, describe(args), () => Reflect.apply(method, this, args) as unknown);
      let settle!: (error?: unknown) => void;
      const settled = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
      settled.catch(() => undefined);
      void track(store, describe(args), () => settled);
      const spiedArgs = args.map((arg) =>
        arg === callback ? (error?: Error | null, ...results: unknown[]) => (settle(error ?? undefined), callback(error, ...results)) : arg,
      );
      return Reflect.apply(method, this, spiedArgs) as unknown;
    } as unknown as F;
  }

  // A statement, and a connection from the pool (which, on a frozen server, waits for a connection to open).
  const clientQuery = pg.Client.prototype.query;
  const poolConnect = pg.Pool.prototype.connect;
  pg.Client.prototype.query = spied('database', ([config]) => (typeof config === 'string' ? config : ((config as { text?: string }).text ?? '')), clientQuery);
  pg.Pool.prototype.connect = spied('database', () => 'connection from the pool', poolConnect);
  restorers.push(() => {
    pg.Client.prototype.query = clientQuery;
    pg.Pool.prototype.connect = poolConnect;
  });

  /** Each command method of the connection, and `exec` of its batches, as own properties over the driver's. */
  function spyOnRedis(redis: Redis): void {
    const prototype = Object.getPrototypeOf(redis) as Record<string, (...args: unknown[]) => unknown>;
    const scripts = Object.keys(redis.scriptsSet).flatMap((name) => {
      const own = Object.getOwnPropertyDescriptor(redis, name)?.value as ((...args: unknown[]) => unknown) | undefined;
      return own ? [[name, own] as const] : [];
    });
    const commands = redis.getBuiltinCommands().filter((name) => name !== 'multi' && name !== 'pipeline').map((name) => [name, prototype[name]] as const);
    for (const [name, method] of [...commands, ...scripts]) {
      if (typeof method !== 'function') continue;
      Object.defineProperty(redis, name, {
        configurable: true,
        writable: true,
        value: function spiedCommand(this: Redis, ...args: unknown[]) {
          return track('redis', name, () => method.apply(this, args));
        },
      });
    }
    for (const batch of ['multi', 'pipeline'] as const) {
      const method = prototype[batch] as (...args: unknown[]) => { exec: (...args: unknown[]) => Promise<unknown> };
      Object.defineProperty(redis, batch, {
        configurable: true,
        writable: true,
        value: function spiedBatch(this: Redis, ...args: unknown[]) {
          const made = method.apply(this, args);
          const exec = made.exec;
          made.exec = (...execArgs: unknown[]) => track('redis', batch, () => exec.apply(made, execArgs));
          return made;
        },
      });
    }
  }

  return {
    attach(server) {
      const [listener] = server.server.listeners('request') as Listener[];
      if (!listener) throw new Error('the test server has no request listener');
      server.server.removeListener('request', listener);
      server.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
        const label = request.headers[LABEL_HEADER] ?? current;
        if (typeof label === 'string') labels.run(label, () => listener(request, response));
        else listener(request, response);
      });
      if (server.services.redis) spyOnRedis(server.services.redis);
    },
    async during(label, request) {
      calls.set(label, []);
      current = label;
      try {
        return await request();
      } finally {
        current = undefined;
      }
    },
    header(label) {
      calls.set(label, calls.get(label) ?? []);
      return { [LABEL_HEADER]: label };
    },
    mark() {
      return position++;
    },
    of(label) {
      return calls.get(label) ?? [];
    },
    restore() {
      for (const restore of restorers) restore();
    },
  };
}

/**
 * The calls a request made to a store after another of its calls to that store had already failed as unavailable:
 * each one a second wait on a store known to be down, the request's time counted twice.
 */
export function callsAfterAFailure(calls: readonly StoreCall[]): StoreCall[] {
  return calls.filter((call) =>
    calls.some((earlier) => earlier.store === call.store && earlier.unavailable && earlier.settled !== undefined && earlier.settled < call.made),
  );
}
