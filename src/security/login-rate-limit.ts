import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { TooManyRequests } from '../errors.js';
import { rateLimited } from '../metrics/metrics.js';
import { createRateLimiter, type LimiterBackend } from './rate-limiter-store.js';

const WINDOW_SECONDS = 15 * 60;

/**
 * Failed sign-ins per client IP (LOGIN_RATE_LIMIT per 15 minutes), on top of the per-account lockout, shared by every
 * node. A point is reserved before the password is checked, so parallel requests cannot check more passwords than the
 * budget, and given back when the sign-in succeeds or no verdict was reached (a store outage): a household behind
 * one address never locks itself out, and an outage spends nothing.
 */
export class LoginRateLimit {
  readonly #limiter: RateLimiterAbstract;

  constructor(backend: LimiterBackend, points: number) {
    this.#limiter = createRateLimiter(backend, { keyPrefix: 'login-ip', points, duration: WINDOW_SECONDS });
  }

  /** Reserves one attempt; throws TooManyRequests once the IP has spent its budget. */
  async reserve(ip: string): Promise<void> {
    try {
      await this.#limiter.consume(ip);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      rateLimited.inc({ limit: 'login' });
      const retryAfter = Math.ceil(rejection.msBeforeNext / 1000);
      throw new TooManyRequests('too many sign-in attempts from this address; try again later', retryAfter);
    }
  }

  /** Gives back the attempt reserved for a sign-in that succeeded, or that failed before the password was judged. */
  async release(ip: string): Promise<void> {
    await this.#limiter.reward(ip);
  }
}
