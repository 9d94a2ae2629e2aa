// Where the SDK keeps short-lived state (introspection results, sessions, login state, replay and ended-session
// markers): in process memory by default, or in Redis so that several nodes of an instance share it: an ioredis client
// (RedisStore) or a node-redis v4 client, ChillFi3's own (NodeRedisStore). The two clients spell SET's options
// differently, and node-redis v4 quietly ignores ioredis's spelling (no expiry, no NX): hence one class each.

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

/** The subset of a node-redis v4 client (`createClient()` of the `redis` package) the SDK uses. */
export interface NodeRedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { PX: number; NX?: true }): Promise<string | null>;
  del(key: string): Promise<number>;
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

/** The store's logic over a Redis client; each client class says how it reads, writes with an expiry, and deletes. */
abstract class RedisBackedStore implements KeyValueStore {
  constructor(private readonly prefix: string) {}

  protected abstract read(key: string): Promise<string | null>;
  /** SET with PX (and NX when `onlyIfAbsent`); true when the value was written. */
  protected abstract write(key: string, value: string, ttlMs: number, onlyIfAbsent: boolean): Promise<boolean>;
  protected abstract remove(key: string): Promise<void>;

  get(key: string): Promise<string | null> {
    return this.read(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      await this.delete(key);
      return;
    }
    await this.write(this.prefix + key, value, Math.ceil(ttlMs), false);
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.write(this.prefix + key, value, Math.max(1, Math.ceil(ttlMs)), true);
  }

  delete(key: string): Promise<void> {
    return this.remove(this.prefix + key);
  }
}

/** On an ioredis client. */
export class RedisStore extends RedisBackedStore {
  constructor(
    private readonly redis: RedisLike,
    prefix = 'chillfi3-auth-sdk:',
  ) {
    super(prefix);
  }

  protected read(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  protected async write(key: string, value: string, ttlMs: number, onlyIfAbsent: boolean): Promise<boolean> {
    const result = onlyIfAbsent ? await this.redis.set(key, value, 'PX', ttlMs, 'NX') : await this.redis.set(key, value, 'PX', ttlMs);
    return result === 'OK';
  }

  protected async remove(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

/** On a node-redis v4 client (ChillFi3's). */
export class NodeRedisStore extends RedisBackedStore {
  constructor(
    private readonly redis: NodeRedisLike,
    prefix = 'chillfi3-auth-sdk:',
  ) {
    super(prefix);
  }

  protected read(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  protected async write(key: string, value: string, ttlMs: number, onlyIfAbsent: boolean): Promise<boolean> {
    return (await this.redis.set(key, value, onlyIfAbsent ? { PX: ttlMs, NX: true } : { PX: ttlMs })) === 'OK';
  }

  protected async remove(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
