/**
 * oidc-provider storage on Redis, used when AUTH_REDIS_URL is set. Keeps the contract stated in adapters/index.ts.
 *
 * Keys (all under the store's prefix):
 * - `${model}:${id}`: one record, its payload as JSON, expiring with the upsert's TTL.
 * - `index:grant:${grantId}`: sorted set of `${model}:${id}` of every record carrying that grantId.
 * - `index:${model}:account:${accountId}`: sorted set of ids of the Grants / Sessions of an account.
 * - `index:${model}:uid:${uid}`, `index:${model}:userCode:${userCode}`: the id of the record with that uid / user code,
 *   expiring with the record.
 * - `Revocation:${mark}`: a revocation mark (src/provider/revocation-marks.ts), expiring with what it covers; all the
 *   marks of one token are checked with one EXISTS.
 * Sorted sets are scored by each member's expiry (epoch ms, +inf for none): every add drops the expired members and
 * gives the set the expiry of its longest-lived member (the `oidcIndexAdd` script below), so an index never outlives
 * its members' lifetime and never expires before them.
 *
 * upsert, destroy and revocations are one MULTI each on one Redis. On a Redis Cluster the keys of one write live in
 * different slots (a record, its grant's index, its account's index), where a MULTI would fail with CROSSSLOT: there
 * the same commands are sent one after the other, in an order that leaves, if one fails, only what the reads already
 * ignore: index entries before the record they point to, records deleted before their index entries. Multi-key reads
 * (the marks' EXISTS, MGET) are split into one command per key, sent together. Reads through an index always load the record and check it still
 * matches, so a stale index entry resolves to nothing.
 * Single use is atomic: consume rewrites the record, marked consumed and cut down to what reuse detection reads
 * (consumed-payload.ts), only if it is still exactly the unconsumed payload it read (the
 * `oidcReplace` compare-and-set script below; the payload is built in JS, never re-encoded by Lua's cjson, which would
 * change it, e.g. turn empty arrays into objects), so of concurrent consumes exactly one wins, on any number of nodes.
 * insertIfAbsent is one `SET NX`, its index entries written after it by the one caller that won.
 * Races accepted, as there is no WATCH:
 * - upsert and destroy read the previous payload before their MULTI; two concurrent writes of one record can leave a
 *   stale index entry (harmless, see above; it expires with the record's lifetime).
 * - revokeByGrantId reads the grant's members, then deletes them in one MULTI: a record indexed under the grant in
 *   between survives and stays indexed, so the next revocation of that grant removes it.
 */
import type { Redis, Result } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { StoreUnavailable } from '../src/errors.js';
import { consumedPayload } from './consumed-payload.js';
import type { OidcStore } from './index.js';
import { LONGEST_ACCESS_TOKEN_SECONDS, REVOCATION_MODEL } from '../src/provider/revocation-marks.js';
import { epochSeconds, modelAdapterClass, type ModelStore } from './model-adapter.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Adds a member scored by its expiry to an index set, dropping expired members and fixing the set's expiry. */
    oidcIndexAdd(index: string, member: string, expiresAt: string, now: string): Result<number, Context>;
    /** Replaces a key's value, keeping its lifetime, only if it still holds `expected`; 1 when replaced, else 0. */
    oidcReplace(key: string, expected: string, replacement: string): Result<number, Context>;
  }
}

const indexAddScript = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] == 'inf' then
  return redis.call('PERSIST', KEYS[1])
end
return redis.call('PEXPIREAT', KEYS[1], last[2])
`;

const replaceScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`;

/** Models indexed by the account in their payload. */
const accountIndexedModels = new Set(['Grant', 'Session']);

export interface RedisOidcStoreOptions {
  /** Prefix of every key of this store; default `oidc:`. */
  keyPrefix?: string | undefined;
  /** How long a revoked grant stays marked: the configured access-token lifetime (default: the longest accepted). */
  grantMarkSeconds?: number | undefined;
  /**
   * Replicas that must hold a revocation before it is confirmed (AUTH_REDIS_WAIT_REPLICAS; Redis WAIT for at most
   * `timeoutMs`): fewer, and the revocation fails as the store being unavailable (503), so that the caller tries again
   * rather than trusting one a failover could undo. Default none.
   */
  waitReplicas?: { count: number; timeoutMs: number } | undefined;
}

/** One command of a write: its name (a Redis command, or a script defined below) and its arguments. */
type Write = [command: string, ...args: (string | number)[]];

/** The OidcStore on one ioredis connection, which stays the caller's to close. */
export class RedisOidcStore implements OidcStore, ModelStore {
  readonly Adapter: new (name: string) => Adapter;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly waitReplicas: RedisOidcStoreOptions['waitReplicas'];

  constructor(
    redis: Redis,
    { keyPrefix = 'oidc:', grantMarkSeconds = LONGEST_ACCESS_TOKEN_SECONDS, waitReplicas }: RedisOidcStoreOptions = {},
  ) {
    this.redis = redis;
    this.prefix = keyPrefix;
    this.waitReplicas = waitReplicas?.count ? waitReplicas : undefined;
    redis.defineCommand('oidcIndexAdd', { numberOfKeys: 1, lua: indexAddScript });
    redis.defineCommand('oidcReplace', { numberOfKeys: 1, lua: replaceScript });
    this.Adapter = modelAdapterClass(this, grantMarkSeconds);
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (expiresIn !== undefined && expiresIn <= 0) return this.destroy(model, id);
    const key = this.recordKey(model, id);
    const previous = await this.read(key);
    const writes: Write[] = previous ? this.unindex(model, id, previous) : [];
    writes.push(...this.index(model, id, payload, expiresIn, Date.now()));
    const json = JSON.stringify(payload);
    writes.push(expiresIn === undefined ? ['set', key, json] : ['set', key, json, 'PX', Math.ceil(expiresIn * 1000)]);
    await this.write(writes);
  }

  find(model: string, id: string): Promise<AdapterPayload | undefined> {
    return this.read(this.recordKey(model, id));
  }

  findByUid(model: string, uid: string): Promise<AdapterPayload | undefined> {
    return this.findThroughIndex(model, this.uidKey(model, uid), (payload) => payload.uid === uid);
  }

  findByUserCode(model: string, userCode: string): Promise<AdapterPayload | undefined> {
    return this.findThroughIndex(model, this.userCodeKey(model, userCode), (payload) => payload.userCode === userCode);
  }

  async insertIfAbsent(model: string, id: string, payload: AdapterPayload, expiresIn: number): Promise<boolean> {
    const now = Date.now();
    const key = this.recordKey(model, id);
    const stored = await this.redis.set(key, JSON.stringify(payload), 'PX', Math.ceil(expiresIn * 1000), 'NX');
    if (stored === null) return false;
    // A replay mark (the only caller so far) carries nothing indexed: no round trip for it.
    await this.write(this.index(model, id, payload, expiresIn, now));
    return true;
  }

  /**
   * Compare-and-set until the record is seen consumed or gone, or this call's write of the consumed record (slimmed,
   * see consumed-payload.ts) lands on the payload it read.
   */
  async consume(model: string, id: string): Promise<boolean> {
    const key = this.recordKey(model, id);
    for (;;) {
      const json = await this.redis.get(key);
      if (json === null) return false;
      const payload = parsePayload(json);
      if (payload.consumed) return false;
      const consumed = JSON.stringify(consumedPayload(model, payload, epochSeconds()));
      if ((await this.redis.oidcReplace(key, json, consumed)) === 1) return true;
    }
  }

  async destroy(model: string, id: string): Promise<void> {
    const key = this.recordKey(model, id);
    const previous = await this.read(key);
    await this.write([['del', key], ...(previous ? this.unindex(model, id, previous) : [])]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const indexKey = this.grantKey(grantId);
    const members = await this.redis.zrange(indexKey, 0, -1);
    if (members.length === 0) return;
    const payloads = await this.readAll(members.map((member) => this.prefix + member));
    const writes = members.flatMap((member, position): Write[] => {
      const payload = payloads[position];
      if (payload && payload.grantId !== grantId) return [];
      const { model, id } = parseMember(member);
      return [['del', this.recordKey(model, id)], ...(payload ? this.unindex(model, id, payload) : [])];
    });
    await this.write([...writes, ['zrem', indexKey, ...members]]);
    await this.replicated();
  }

  async markRevoked(keys: readonly string[], expiresIn: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(expiresIn * 1000));
    await this.write(keys.map((key): Write => ['set', this.recordKey(REVOCATION_MODEL, key), '1', 'PX', ttl]));
    await this.replicated();
  }

  /** One EXISTS of every mark; on a Cluster, one per mark (they live in different slots), sent together. */
  async anyRevoked(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    const markKeys = keys.map((key) => this.recordKey(REVOCATION_MODEL, key));
    if (!this.redis.isCluster) return (await this.redis.exists(...markKeys)) > 0;
    const counts = await Promise.all(markKeys.map((key) => this.redis.exists(key)));
    return counts.some((count) => count > 0);
  }

  async grantIdsOfAccount(accountId: string): Promise<string[]> {
    const grants = await this.liveOfAccount('Grant', accountId);
    return grants.map(({ id }) => id);
  }

  async sessionsOfAccount(accountId: string): Promise<AdapterPayload[]> {
    const sessions = await this.liveOfAccount('Session', accountId);
    return sessions.map(({ payload }) => payload);
  }

  async destroySessionsOfAccount(accountId: string): Promise<number> {
    const sessions = await this.liveOfAccount('Session', accountId);
    if (sessions.length === 0) return 0;
    await this.write(sessions.flatMap(({ id, payload }): Write[] => [['del', this.recordKey('Session', id)], ...this.unindex('Session', id, payload)]));
    await this.replicated();
    return sessions.length;
  }

  /** The connection belongs to the caller; the store holds nothing else to release. */
  async close(): Promise<void> {}

  /** The index entries of a record. */
  private index(model: string, id: string, payload: AdapterPayload, expiresIn: number | undefined, now: number): Write[] {
    const writes: Write[] = [];
    const expiresAt = expiresIn === undefined ? '+inf' : String(now + Math.ceil(expiresIn * 1000));
    const pointer = (key: string): Write => (expiresIn === undefined ? ['set', key, id] : ['set', key, id, 'PX', Math.ceil(expiresIn * 1000)]);
    if (payload.grantId) writes.push(['oidcIndexAdd', this.grantKey(payload.grantId), `${model}:${id}`, expiresAt, String(now)]);
    if (payload.uid) writes.push(pointer(this.uidKey(model, payload.uid)));
    if (payload.userCode) writes.push(pointer(this.userCodeKey(model, payload.userCode)));
    if (payload.accountId && accountIndexedModels.has(model)) {
      writes.push(['oidcIndexAdd', this.accountKey(model, payload.accountId), id, expiresAt, String(now)]);
    }
    return writes;
  }

  /** The removal of a record's index entries. */
  private unindex(model: string, id: string, payload: AdapterPayload): Write[] {
    const writes: Write[] = [];
    if (payload.grantId) writes.push(['zrem', this.grantKey(payload.grantId), `${model}:${id}`]);
    if (payload.uid) writes.push(['del', this.uidKey(model, payload.uid)]);
    if (payload.userCode) writes.push(['del', this.userCodeKey(model, payload.userCode)]);
    if (payload.accountId && accountIndexedModels.has(model)) writes.push(['zrem', this.accountKey(model, payload.accountId), id]);
    return writes;
  }

  /**
   * Applies the writes: one MULTI on one Redis; on a Cluster, one command after the other in the order given (see the
   * top of this file). Throws the first error of any of them.
   */
  private async write(writes: readonly Write[]): Promise<void> {
    if (writes.length === 0) return;
    if (!this.redis.isCluster) {
      const replies = await this.redis.multi(writes.map((write) => [...write])).exec();
      if (replies === null) throw new Error('Redis transaction aborted');
      for (const [error] of replies) {
        if (error) throw error;
      }
      return;
    }
    // The methods of the commands and of the scripts this store defined (on a Cluster, each routed by its first key).
    const commands = this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
    for (const [command, ...args] of writes) await commands[command]!(...args);
  }

  /** Waits until the configured number of replicas hold this connection's writes so far (see waitReplicas). */
  private async replicated(): Promise<void> {
    if (!this.waitReplicas) return;
    const { count, timeoutMs } = this.waitReplicas;
    const acknowledged = await this.redis.wait(count, timeoutMs);
    if (acknowledged < count) {
      throw new StoreUnavailable(new Error(`Redis WAIT: ${acknowledged} of ${count} replicas acknowledged within ${timeoutMs} ms`));
    }
  }

  private async findThroughIndex(
    model: string,
    pointerKey: string,
    matches: (payload: AdapterPayload) => boolean,
  ): Promise<AdapterPayload | undefined> {
    const id = await this.redis.get(pointerKey);
    if (id === null) return undefined;
    const payload = await this.find(model, id);
    return payload && matches(payload) ? payload : undefined;
  }

  private async liveOfAccount(model: string, accountId: string): Promise<{ id: string; payload: AdapterPayload }[]> {
    const ids = await this.redis.zrangebyscore(this.accountKey(model, accountId), `(${Date.now()}`, '+inf');
    if (ids.length === 0) return [];
    const payloads = await this.readAll(ids.map((id) => this.recordKey(model, id)));
    return ids.flatMap((id, position) => {
      const payload = payloads[position];
      return payload?.accountId === accountId ? [{ id, payload }] : [];
    });
  }

  private async read(key: string): Promise<AdapterPayload | undefined> {
    const json = await this.redis.get(key);
    return json === null ? undefined : parsePayload(json);
  }

  /** One MGET; on a Cluster, one GET per key (they live in different slots), sent together. */
  private async readAll(keys: string[]): Promise<(AdapterPayload | undefined)[]> {
    const values = this.redis.isCluster ? await Promise.all(keys.map((key) => this.redis.get(key))) : await this.redis.mget(keys);
    return values.map((json) => (json === null ? undefined : parsePayload(json)));
  }

  private recordKey(model: string, id: string): string {
    return `${this.prefix}${model}:${id}`;
  }

  private grantKey(grantId: string): string {
    return `${this.prefix}index:grant:${grantId}`;
  }

  private accountKey(model: string, accountId: string): string {
    return `${this.prefix}index:${model}:account:${accountId}`;
  }

  private uidKey(model: string, uid: string): string {
    return `${this.prefix}index:${model}:uid:${uid}`;
  }

  private userCodeKey(model: string, userCode: string): string {
    return `${this.prefix}index:${model}:userCode:${userCode}`;
  }
}

function parseMember(member: string): { model: string; id: string } {
  const separator = member.indexOf(':');
  return { model: member.slice(0, separator), id: member.slice(separator + 1) };
}

function parsePayload(json: string): AdapterPayload {
  return JSON.parse(json) as AdapterPayload;
}
