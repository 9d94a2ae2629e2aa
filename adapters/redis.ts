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
 * upsert, destroy and revocations are one MULTI each. Reads through an index always load the record and check it still
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
import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
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
}

/** The OidcStore on one ioredis connection, which stays the caller's to close. */
export class RedisOidcStore implements OidcStore, ModelStore {
  readonly Adapter: new (name: string) => Adapter;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, { keyPrefix = 'oidc:', grantMarkSeconds = LONGEST_ACCESS_TOKEN_SECONDS }: RedisOidcStoreOptions = {}) {
    this.redis = redis;
    this.prefix = keyPrefix;
    redis.defineCommand('oidcIndexAdd', { numberOfKeys: 1, lua: indexAddScript });
    redis.defineCommand('oidcReplace', { numberOfKeys: 1, lua: replaceScript });
    this.Adapter = modelAdapterClass(this, grantMarkSeconds);
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (expiresIn !== undefined && expiresIn <= 0) return this.destroy(model, id);
    const key = this.recordKey(model, id);
    const previous = await this.read(key);
    const now = Date.now();
    const multi = this.redis.multi();
    if (previous) this.unindex(multi, model, id, previous);
    const json = JSON.stringify(payload);
    if (expiresIn === undefined) multi.set(key, json);
    else multi.set(key, json, 'PX', Math.ceil(expiresIn * 1000));
    this.index(multi, model, id, payload, expiresIn, now);
    await execAll(multi);
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
    const multi = this.redis.multi();
    this.index(multi, model, id, payload, expiresIn, now);
    // A replay mark (the only caller so far) carries nothing indexed: no empty MULTI round trip for it.
    if (multi.length > 0) await execAll(multi);
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
    const multi = this.redis.multi().del(key);
    if (previous) this.unindex(multi, model, id, previous);
    await execAll(multi);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const indexKey = this.grantKey(grantId);
    const members = await this.redis.zrange(indexKey, 0, -1);
    if (members.length === 0) return;
    const payloads = await this.readAll(members.map((member) => this.prefix + member));
    const multi = this.redis.multi().zrem(indexKey, ...members);
    members.forEach((member, position) => {
      const payload = payloads[position];
      if (payload && payload.grantId !== grantId) return;
      const { model, id } = parseMember(member);
      multi.del(this.recordKey(model, id));
      if (payload) this.unindex(multi, model, id, payload);
    });
    await execAll(multi);
  }

  async markRevoked(keys: readonly string[], expiresIn: number): Promise<void> {
    const multi = this.redis.multi();
    for (const key of keys) multi.set(this.recordKey(REVOCATION_MODEL, key), '1', 'PX', Math.max(1, Math.ceil(expiresIn * 1000)));
    await execAll(multi);
  }

  async anyRevoked(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    return (await this.redis.exists(...keys.map((key) => this.recordKey(REVOCATION_MODEL, key)))) > 0;
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
    const multi = this.redis.multi();
    for (const { id, payload } of sessions) {
      multi.del(this.recordKey('Session', id));
      this.unindex(multi, 'Session', id, payload);
    }
    await execAll(multi);
    return sessions.length;
  }

  /** The connection belongs to the caller; the store holds nothing else to release. */
  async close(): Promise<void> {}

  private index(
    multi: ChainableCommander,
    model: string,
    id: string,
    payload: AdapterPayload,
    expiresIn: number | undefined,
    now: number,
  ): void {
    const expiresAt = expiresIn === undefined ? '+inf' : String(now + Math.ceil(expiresIn * 1000));
    const setPointer = (key: string): void => {
      if (expiresIn === undefined) multi.set(key, id);
      else multi.set(key, id, 'PX', Math.ceil(expiresIn * 1000));
    };
    if (payload.grantId) multi.oidcIndexAdd(this.grantKey(payload.grantId), `${model}:${id}`, expiresAt, String(now));
    if (payload.uid) setPointer(this.uidKey(model, payload.uid));
    if (payload.userCode) setPointer(this.userCodeKey(model, payload.userCode));
    if (payload.accountId && accountIndexedModels.has(model)) {
      multi.oidcIndexAdd(this.accountKey(model, payload.accountId), id, expiresAt, String(now));
    }
  }

  private unindex(multi: ChainableCommander, model: string, id: string, payload: AdapterPayload): void {
    if (payload.grantId) multi.zrem(this.grantKey(payload.grantId), `${model}:${id}`);
    if (payload.uid) multi.del(this.uidKey(model, payload.uid));
    if (payload.userCode) multi.del(this.userCodeKey(model, payload.userCode));
    if (payload.accountId && accountIndexedModels.has(model)) {
      multi.zrem(this.accountKey(model, payload.accountId), id);
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

  private async readAll(keys: string[]): Promise<(AdapterPayload | undefined)[]> {
    const values = await this.redis.mget(keys);
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

/** Runs a MULTI and throws the first error of any of its commands (ioredis reports those in the replies). */
async function execAll(multi: ChainableCommander): Promise<void> {
  const replies = await multi.exec();
  if (replies === null) throw new Error('Redis transaction aborted');
  for (const [error] of replies) {
    if (error) throw error;
  }
}

function parseMember(member: string): { model: string; id: string } {
  const separator = member.indexOf(':');
  return { model: member.slice(0, separator), id: member.slice(separator + 1) };
}

function parsePayload(json: string): AdapterPayload {
  return JSON.parse(json) as AdapterPayload;
}
