// The auth server's signing keys: fetched once, refetched at most once per cooldown when a token names an unknown
// kid (key rotation), refreshed after maxAge, and kept when a refetch fails so that offline verification survives
// an auth server outage.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AuthError } from './errors.js';

export class JwksCache {
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private attemptedAt = 0;
  private inflight: Promise<void> | undefined;
  /** How many times the key set was fetched: visible for tests and status. */
  fetches = 0;

  constructor(
    private readonly load: () => Promise<JSONWebKeySet>,
    private readonly cooldownMs: number,
    private readonly maxAgeMs: number,
  ) {}

  /** A jose key resolver for jwtVerify. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.local) await this.refresh();
    else if (Date.now() - this.fetchedAt > this.maxAgeMs) await this.refresh().catch(() => undefined);
    try {
      return await this.local!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - this.attemptedAt < this.cooldownMs) throw error;
      await this.refresh();
      return this.local!(header, token);
    }
  };

  /** One fetch in flight however many callers; the previous keys stay if it fails. */
  refresh(): Promise<void> {
    this.inflight ??= (async () => {
      this.attemptedAt = Date.now();
      try {
        const jwks = await this.load();
        if (!Array.isArray(jwks?.keys)) throw new AuthError('auth_unavailable', 'the auth server returned no JWKS');
        this.fetches++;
        this.local = createLocalJWKSet(jwks);
        this.fetchedAt = Date.now();
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
