// Where the SDK keeps short-lived state (introspection results, sessions, login state, replay and ended-session
// markers): in process memory by default, or in Redis (an ioredis client) so that several nodes of an instance share it.

/** Every entry expires: the store never keeps anything longer than the ttl it was given. */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only if absent; true when this call created the entry (replay detection). */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** The subset of an ioredis client the SDK uses. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  set(key: string, value: string, mode: 'PX', ms: number, nx: 'NX'): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

export class MemoryStore implements KeyValueStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private writes = 0;

  constructor(private readonly maxEntries = 100_000) {}

  async get(key: string): Promise<string | null> {
    return this.getNow(key);
  }

  /** Synchronous read, for the hot path of token checks. */
  getNow(key: string): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      this.entries.delete(key);
      return;
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    if (++this.writes % 1000 === 0 || this.entries.size > this.maxEntries) this.sweep();
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.getNow(key) !== null) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  /** Drops expired entries, then the oldest ones if still over capacity. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

export class RedisStore implements KeyValueStore {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix = 'chillfi3-auth-sdk:',
  ) {}

  get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      await this.delete(key);
      return;
    }
    await this.redis.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs));
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    const result = await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return result === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
