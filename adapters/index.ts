/**
 * The oidc-provider storage: one `OidcStore` on Redis when a connection is given (AUTH_REDIS_URL), else on the
 * database (PostgreSQL or the embedded SQLite file).
 *
 * The contract every store keeps (test/adapters/adapter-contract.ts checks it against each one):
 * - Records are namespaced by model name: the same id under two models is two records.
 * - `upsert(id, payload, expiresIn)` replaces the whole payload and its lifetime (seconds; none means no expiry,
 *   zero or less means already expired). Expired records are invisible to every read.
 * - `find`, `findByUid` (any model whose payload has `uid`, e.g. Session), `findByUserCode` (DeviceCode).
 * - `consume(id)` sets `payload.consumed` to the epoch seconds, visible on later reads. It is atomic: of any number of
 *   concurrent consumes of one record, on any number of nodes, exactly one succeeds. Every other one, and a consume of
 *   an already consumed or missing record, throws the provider's invalid_grant (invalid_request_uri for a pushed
 *   authorization request), since the provider ignores what consume returns; a consumed record's grant is revoked
 *   first (its records and the Grant), as the provider does on a reuse it sees itself.
 * - ReplayDetection's `find(id)` is an atomic insert-if-absent: it answers "not found" to exactly one caller, the one
 *   that marked the id seen, and the mark to every other (see adapters/model-adapter.ts).
 * - An id, uid or user code holding a character a store cannot hold (src/db/storable.ts) names no record.
 * - `destroy(id)` removes one record; `revokeByGrantId(grantId)`, from any model's adapter, removes every record of
 *   every model whose payload carries that `grantId` (the Grant itself carries none and is destroyed separately).
 * - Revoking a grant (`revokeByGrantId`, or destroying the Grant) also leaves a revocation mark of the grant for
 *   `grantMarkSeconds`; `markRevoked` / `anyRevoked` write and check marks (src/provider/revocation-marks.ts), the
 *   check in one round trip.
 * - Account indexes: Grants and Sessions whose payload has `accountId`, read through the methods below.
 * - Indexes follow re-upserts and deletions; errors from the backend propagate to the caller.
 */
import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { DataSource } from 'typeorm';
import { RedisOidcStore, type RedisOidcStoreOptions } from './redis.js';
import { SqlOidcStore } from './sql.js';

export interface OidcStore {
  /** The oidc-provider adapter constructor: `new store.Adapter(modelName)`; pass it as the provider's `adapter` option. */
  readonly Adapter: new (name: string) => Adapter;
  /** Ids of every live Grant of an account (the account → grants index), e.g. to end all sessions of a user. */
  grantIdsOfAccount(accountId: string): Promise<string[]>;
  /** Every live Session payload whose accountId is this account (session uid lookup is separate: findByUid). */
  sessionsOfAccount(accountId: string): Promise<AdapterPayload[]>;
  /** Removes every Session of an account. */
  destroySessionsOfAccount(accountId: string): Promise<number>;
  /** Marks each key revoked for `expiresIn` seconds. */
  markRevoked(keys: readonly string[], expiresIn: number): Promise<void>;
  /** Whether any of these keys is marked revoked, in one round trip. */
  anyRevoked(keys: readonly string[]): Promise<boolean>;
  close(): Promise<void>;
}

export interface OidcStoreOptions {
  dataSource: DataSource;
  redis?: Redis;
  /** Prefix of every Redis key of this store (default `oidc:`); unused by the SQL store. */
  keyPrefix?: string;
  /** How long a revoked grant stays marked: the access-token lifetime (TOKEN_TTL). */
  grantMarkSeconds: number;
  /** Redis: replicas that must acknowledge a revocation before it is confirmed (RedisOidcStoreOptions). */
  waitReplicas?: RedisOidcStoreOptions['waitReplicas'];
}

/** Redis when a connection is given, else the SQL store on the DataSource. Neither takes over its connection. */
export function createOidcStore({ dataSource, redis, keyPrefix, grantMarkSeconds, waitReplicas }: OidcStoreOptions): OidcStore {
  if (redis) return new RedisOidcStore(redis, { keyPrefix, grantMarkSeconds, waitReplicas });
  return new SqlOidcStore(dataSource, { grantMarkSeconds });
}
