// The Redis connection as the server's code sees it: every command made within a request is bounded by what is left of
// the request's Redis time (store-budget.ts). The bound is taken where the command is called, not where ioredis sends
// it: auto-pipelined commands are sent a tick later, in whichever request's context started the batch, and wait
// behind a batch still running, which the per-command commandTimeout does not count.
import type { ChainableCommander, Redis } from 'ioredis';
import { storeBudget, withinBudget } from './store-budget.js';

/** Calls that build a batch (MULTI or pipeline): bounded when the batch is sent (`exec`). */
const BATCHES = new Set(['multi', 'pipeline']);

/** A command method called on `target` (ioredis's built-in commands on its prototype, scripts defined on the instance). */
function isCommand(target: Redis, builtins: ReadonlySet<string>, name: string): boolean {
  return builtins.has(name) || (Object.hasOwn(target, name) && name in target.scriptsSet);
}

/** A batch whose chained calls stay on this wrapper and whose `exec` is bounded. */
function boundedBatch(batch: ChainableCommander): ChainableCommander {
  const wrapper: ChainableCommander = new Proxy(batch, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const budget = storeBudget('redis');
        if (property === 'exec' && budget) return withinBudget(budget, () => Reflect.apply(value, target, args) as Promise<unknown>);
        const result: unknown = Reflect.apply(value, target, args);
        return result === target ? wrapper : result;
      };
    },
  });
  return wrapper;
}

/** `redis` with its commands bounded within requests; everything else (events, status, connect, disconnect) as it is. */
export function boundByRequestDeadlines(redis: Redis): Redis {
  const builtins = new Set(redis.getBuiltinCommands().filter((name) => !BATCHES.has(name)));
  return new Proxy(redis, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      if (BATCHES.has(property)) return (...args: unknown[]) => boundedBatch(Reflect.apply(value, target, args) as ChainableCommander);
      if (!isCommand(target, builtins, property)) return value.bind(target) as unknown;
      return (...args: unknown[]) => {
        const budget = storeBudget('redis');
        if (!budget) return Reflect.apply(value, target, args) as unknown;
        return withinBudget(budget, () => Reflect.apply(value, target, args) as Promise<unknown>);
      };
    },
  });
}
