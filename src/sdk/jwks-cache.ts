// The auth server's signing keys: fetched once, refetched when a token names an unknown kid (key rotation) but at
// most once per cooldown, refreshed after maxAge, and kept when a refetch fails so that offline verification survives
// an auth server outage.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AuthError } from './errors.js';

export class JwksCache {
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private kidRefetchAt = -Infinity;
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
      // At most one refetch per cooldown for unknown kids: a rotation is picked up at once, garbage kids cannot
      // make every request hit the auth server.
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - this.kidRefetchAt < this.cooldownMs) throw error;
      this.kidRefetchAt = Date.now();
      await this.refresh();
      return this.local!(header, token);
    }
  };

  /** One fetch in flight however many callers; the previous keys stay if it fails. */
  refresh(): Promise<void> {
    this.inflight ??= (async () => {
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
