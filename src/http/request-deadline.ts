import type { Middleware } from 'koa';
import { RequestDeadline, withinDeadline } from '../db/store-budget.js';

/**
 * Gives each request its store deadlines (src/db/store-budget.ts): AUTH_DB_TIMEOUT_MS of database time and
 * AUTH_REDIS_TIMEOUT_MS of Redis time for the whole request, whatever answers it (our routes or the provider). Inside
 * the error handler, whose 503 is what a request whose time ran out gets.
 */
export function requestDeadline(timeouts: { databaseMs: number; redisMs: number }): Middleware {
  return function withinStoreDeadlines(_ctx, next) {
    return withinDeadline(new RequestDeadline(timeouts), next);
  };
}
