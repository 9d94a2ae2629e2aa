/**
 * oidc-provider storage in the database (PostgreSQL or the embedded SQLite file), used when there is no Redis.
 * Keeps the contract stated in adapters/index.ts.
 *
 * One row of `oidc_models` per record, keyed by (model, id): the payload as JSON text, and the columns that serve as
 * indexes (grant_id, uid, user_code, account_id) copied from it on every upsert, so a re-upsert moves the record in
 * every index at once. Only the repository API is used, so the same code runs on both databases.
 * - Lifetime: `expires_at`; every read filters out expired rows. `purgeExpired()` deletes them, and upsert calls it
 *   at most once per purge interval (a minute by default), awaiting it so its errors reach the caller.
 * - Consumption: `consumed_at`, merged into the payload as `consumed` (epoch seconds) on read. consume reads the row,
 *   then sets `consumed_at` and the payload cut down to what reuse detection reads (consumed-payload.ts) in one
 *   conditional UPDATE (... WHERE consumed_at IS NULL AND payload = the one read) whose affected row count says whether
 *   this call won: the database serializes concurrent updates of a row, so exactly one wins, whatever the number of
 *   nodes. An upserted payload that carries `consumed` sets it; one without clears it.
 * - insertIfAbsent: a plain INSERT, after deleting an expired row of that key; a duplicate key means a live record.
 * - Revocation marks (src/provider/revocation-marks.ts): rows of the `Revocation` model; all the marks of one token
 *   are checked with one SELECT.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import {
  In,
  IsNull,
  LessThanOrEqual,
  MoreThan,
  type DataSource,
  type FindOptionsWhere,
  type Repository,
} from 'typeorm';
import { consumedPayload } from './consumed-payload.js';
import { isDuplicateKey } from '../src/db/duplicate-key.js';
import type { OidcStore } from './index.js';
import { LONGEST_ACCESS_TOKEN_SECONDS, REVOCATION_MODEL } from '../src/provider/revocation-marks.js';
import { epochSeconds, modelAdapterClass, type ModelStore } from './model-adapter.js';
import { StoredModelEntity, type StoredModel } from './sql-model-entity.js';

export interface SqlOidcStoreOptions {
  /** Least time between two purges of expired rows started by upsert; default one minute. */
  purgeIntervalMs?: number;
  /** How long a revoked grant stays marked: the configured access-token lifetime (default: the longest accepted). */
  grantMarkSeconds?: number | undefined;
}

/** The OidcStore on a TypeORM DataSource, which stays the caller's to close. */
export class SqlOidcStore implements OidcStore, ModelStore {
  readonly Adapter: new (name: string) => Adapter;
  private readonly rows: Repository<StoredModel>;
  private readonly purgeIntervalMs: number;
  private lastPurgeAt = 0;

  constructor(dataSource: DataSource, { purgeIntervalMs = 60_000, grantMarkSeconds = LONGEST_ACCESS_TOKEN_SECONDS }: SqlOidcStoreOptions = {}) {
    this.rows = dataSource.getRepository(StoredModelEntity);
    this.purgeIntervalMs = purgeIntervalMs;
    this.Adapter = modelAdapterClass(this, grantMarkSeconds);
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.rows.upsert(rowOf(model, id, payload, expiresIn), ['model', 'id']);
    await this.purgeIfDue();
  }

  async insertIfAbsent(model: string, id: string, payload: AdapterPayload, expiresIn: number): Promise<boolean> {
    // An expired row keeps its key until purged: clear it first, so that only a live record counts as present.
    await this.rows.delete({ model, id, expiresAt: LessThanOrEqual(new Date()) });
    try {
      await this.rows.insert(rowOf(model, id, payload, expiresIn));
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  find(model: string, id: string): Promise<AdapterPayload | undefined> {
    return this.findOne({ model, id });
  }

  findByUid(model: string, uid: string): Promise<AdapterPayload | undefined> {
    return this.findOne({ model, uid });
  }

  findByUserCode(model: string, userCode: string): Promise<AdapterPayload | undefined> {
    return this.findOne({ model, userCode });
  }

  /** Conditional UPDATE until the row is seen consumed or gone, or this call's update lands on the payload it read. */
  async consume(model: string, id: string): Promise<boolean> {
    for (;;) {
      const row = await this.rows.findOne({ where: live({ model, id }) });
      if (!row || row.consumedAt) return false;
      const consumedAt = epochSeconds();
      const payload = JSON.stringify(consumedPayload(model, JSON.parse(row.payload) as AdapterPayload, consumedAt));
      const result = await this.rows.update(live({ model, id, consumedAt: IsNull(), payload: row.payload }), {
        consumedAt: new Date(consumedAt * 1000),
        payload,
      });
      if (result.affected === 1) return true;
    }
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.rows.delete({ model, id });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.rows.delete({ grantId });
  }

  async markRevoked(keys: readonly string[], expiresIn: number): Promise<void> {
    if (keys.length === 0) return;
    await this.rows.upsert(
      keys.map((key) => rowOf(REVOCATION_MODEL, key, {}, Math.max(1, expiresIn))),
      ['model', 'id'],
    );
    await this.purgeIfDue();
  }

  async anyRevoked(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    const mark = await this.rows.findOne({ select: { id: true }, where: live({ model: REVOCATION_MODEL, id: In([...keys]) }) });
    return mark !== null;
  }

  async grantIdsOfAccount(accountId: string): Promise<string[]> {
    const grants = await this.rows.find({ select: { id: true }, where: live({ model: 'Grant', accountId }) });
    return grants.map(({ id }) => id);
  }

  async sessionsOfAccount(accountId: string): Promise<AdapterPayload[]> {
    const sessions = await this.rows.find({ where: live({ model: 'Session', accountId }) });
    return sessions.map(payloadOf);
  }

  async destroySessionsOfAccount(accountId: string): Promise<number> {
    const result = await this.rows.delete(live({ model: 'Session', accountId }));
    return result.affected ?? 0;
  }

  /** Deletes every expired row; returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.rows.delete({ expiresAt: LessThanOrEqual(new Date()) });
    return result.affected ?? 0;
  }

  /** The DataSource belongs to the caller and purges run inside upserts: nothing to release. */
  async close(): Promise<void> {}

  private async findOne(where: FindOptionsWhere<StoredModel>): Promise<AdapterPayload | undefined> {
    const row = await this.rows.findOne({ where: live(where) });
    return row ? payloadOf(row) : undefined;
  }

  private async purgeIfDue(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurgeAt < this.purgeIntervalMs) return;
    this.lastPurgeAt = now;
    await this.purgeExpired();
  }
}

/** The condition, restricted to rows that have not expired (no expiry, or one still ahead). */
function live(where: FindOptionsWhere<StoredModel>): FindOptionsWhere<StoredModel>[] {
  return [
    { ...where, expiresAt: IsNull() },
    { ...where, expiresAt: MoreThan(new Date()) },
  ];
}

function rowOf(model: string, id: string, payload: AdapterPayload, expiresIn: number | undefined): StoredModel {
  return {
    model,
    id,
    payload: JSON.stringify(payload),
    grantId: payload.grantId ?? null,
    uid: payload.uid ?? null,
    userCode: payload.userCode ?? null,
    accountId: payload.accountId ?? null,
    expiresAt: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000),
    consumedAt: typeof payload.consumed === 'number' ? new Date(payload.consumed * 1000) : null,
  };
}

/** The key is taken: PostgreSQL's unique_violation, better-sqlite3's primary key constraint. */
function payloadOf(row: StoredModel): AdapterPayload {
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumedAt) payload.consumed = Math.floor(row.consumedAt.getTime() / 1000);
  return payload;
}
