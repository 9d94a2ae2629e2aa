import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { TooManyRequests } from '../errors.js';

const WINDOW_SECONDS = 15 * 60;

/**
 * Sign-in attempts per client IP (LOGIN_RATE_LIMIT per 15 minutes), on top of the per-account lockout.
 * Shared by every node through Redis when it is configured; per process otherwise (the embedded default).
 */
export class LoginRateLimit {
  readonly #limiter: RateLimiterAbstract;

  constructor(points: number, redis?: Redis) {
    const options = { points, duration: WINDOW_SECONDS, keyPrefix: 'login-ip' };
    this.#limiter = redis ? new RateLimiterRedis({ ...options, storeClient: redis }) : new RateLimiterMemory(options);
  }

  /** Counts one attempt; throws TooManyRequests once the IP is over its budget. */
  async consume(ip: string): Promise<void> {
    try {
      await this.#limiter.consume(ip);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.ceil(rejection.msBeforeNext / 1000);
      throw new TooManyRequests('too many sign-in attempts from this address; try again later', retryAfter);
    }
  }
}
