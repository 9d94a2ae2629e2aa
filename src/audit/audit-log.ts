import { setTimeout } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { Brackets, type DataSource, type Repository } from 'typeorm';
import { escapeLike } from '../db/like.js';
import { BadRequest } from '../errors.js';
import { decodeCursor, encodeCursor } from './audit-cursor.js';
import { type AuditDetails, type AuditEvent, AuditEventEntity, type AuditOutcome } from './audit-event-entity.js';

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  accountId?: string | null;
  instanceId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: AuditDetails | null;
}

/** Which entries a query returns: every given condition holds. */
export interface AuditFilter {
  accountId?: string;
  /** The instance's id (not its client id). */
  instanceId?: string;
  /** Any of these: an exact name, or a prefix ending in `.*` (`token.*`: token.issued, token.refreshed, ...). */
  actions?: readonly string[];
  outcome?: AuditOutcome;
  /** At or after. */
  since?: Date;
  /** Strictly before. */
  until?: Date;
  /** Whose details hold `key` = `value` (a scan of the JSON text: narrow by action and time too). */
  detail?: { key: string; value: string };
}

export interface AuditQuery extends AuditFilter {
  /** Entries per page: 1 to MAX_AUDIT_PAGE, DEFAULT_AUDIT_PAGE when unset. */
  limit?: number;
  /** The nextCursor of the page before; unset for the newest page. */
  cursor?: string;
}

export interface AuditPage {
  /** Newest first. */
  events: AuditEvent[];
  /** Where the next (older) page starts; null when this page holds the oldest matching entry. */
  nextCursor: string | null;
}

export const DEFAULT_AUDIT_PAGE = 50;
export const MAX_AUDIT_PAGE = 500;
/** Rows a prune deletes per statement, so that a large backlog never runs into the database's statement timeout. */
export const PRUNE_BATCH = 2000;
const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure'];

/**
 * The audit trail (auth_audit): appended to by every authentication event, read newest first a page at a time, pruned
 * by age. Details must never hold secrets or tokens.
 */
export class AuditLog {
  readonly #events: Repository<AuditEvent>;
  /** Writes not yet ended, awaited or not: flush() waits for them, so a clean stop loses none. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(dataSource: DataSource) {
    this.#events = dataSource.getRepository(AuditEventEntity);
  }

  /** Writes the entry; resolves once the database has it. */
  record(entry: AuditEntry): Promise<void> {
    const insert = this.#events.insert(auditRow(entry)).then(() => undefined);
    this.#track(insert);
    return insert;
  }

  /**
   * Records without making the caller wait, for callers that cannot (oidc-provider's events are synchronous); the entry
   * may still be on its way (a lookup of who it concerns). A failure goes to `onError`. flush() waits for it.
   */
  recordLater(entry: AuditEntry | PromiseLike<AuditEntry>, onError: (error: unknown) => void): void {
    this.#track(Promise.resolve(entry).then((ready) => this.record(ready)).catch(onError));
  }

  /** Resolves once every write started before this call has ended (written or failed). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /** One page of the entries matching the query, newest first (by time, then id). */
  async query(query: AuditQuery = {}): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_AUDIT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
      throw new BadRequest(`the page size must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
    }
    if (query.outcome !== undefined && !AUDIT_OUTCOMES.includes(query.outcome)) {
      throw new BadRequest(`the outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
    }
    const select = this.#events.createQueryBuilder('event').orderBy('event.at', 'DESC').addOrderBy('event.id', 'DESC');
    if (query.accountId !== undefined) select.andWhere('event.accountId = :accountId', { accountId: query.accountId });
    if (query.instanceId !== undefined) select.andWhere('event.instanceId = :instanceId', { instanceId: query.instanceId });
    if (query.outcome !== undefined) select.andWhere('event.outcome = :outcome', { outcome: query.outcome });
    if (query.since !== undefined) select.andWhere('event.at >= :since', { since: query.since });
    if (query.until !== undefined) select.andWhere('event.at < :until', { until: query.until });
    if (query.actions?.length) select.andWhere(actionsMatch(query.actions));
    if (query.detail !== undefined) select.andWhere(...detailMatch(query.detail.key, query.detail.value));
    if (query.cursor !== undefined) {
      // A row comparison, not `at < X OR (at = X AND id < Y)`: it is one range of the (…, at, id) indexes, however deep.
      const after = decodeCursor(query.cursor);
      select.andWhere('(event.at, event.id) < (:cursorAt, :cursorId)', { cursorAt: after.at, cursorId: after.id });
    }
    const found = await select.limit(limit + 1).getMany();
    const events = found.slice(0, limit);
    const last = events.at(-1);
    return { events, nextCursor: found.length > limit && last ? encodeCursor(last) : null };
  }

  /** Newest first. */
  async recent(limit = 100, accountId?: string): Promise<AuditEvent[]> {
    return (await this.query({ limit, accountId })).events;
  }

  /**
   * The account of the newest entry whose details hold `key` = `value` (details are stored as JSON text), or null. A
   * scan: for rare lookups only, such as who a grant already revoked belonged to.
   */
  async accountOfDetail(key: string, value: string): Promise<string | null> {
    const found = await this.#events
      .createQueryBuilder('event')
      .where('event.accountId IS NOT NULL')
      .andWhere(...detailMatch(key, value))
      .orderBy('event.at', 'DESC')
      .addOrderBy('event.id', 'DESC')
      .limit(1)
      .getOne();
    return found?.accountId ?? null;
  }

  /**
   * Deletes every entry older than `before`, oldest first, PRUNE_BATCH at a time, each batch a statement of its own
   * that starts where the last one ended (a range of the (at, id) index: never a scan of what is left), so that no
   * statement runs long, holds many locks or meets the statement timeout. After each batch the prune rests as long as
   * the batch took, so that it takes at most about half of the database's time and sign-ins going on meanwhile (which
   * never wait on its rows) are not starved of disk and CPU. `onBatch` hears the running total after each batch.
   * Resolves to how many were deleted.
   */
  async prune(before: Date, onBatch: (deleted: number) => void = () => {}): Promise<number> {
    let deleted = 0;
    let after: { at: Date; id: string } | undefined;
    for (;;) {
      const select = this.#events
        .createQueryBuilder('event')
        .select(['event.id', 'event.at'])
        .where('event.at < :before', { before })
        .orderBy('event.at', 'ASC')
        .addOrderBy('event.id', 'ASC')
        .limit(PRUNE_BATCH);
      if (after) select.andWhere('(event.at, event.id) > (:afterAt, :afterId)', { afterAt: after.at, afterId: after.id });
      const started = performance.now();
      const batch = await select.getMany();
      if (batch.length === 0) return deleted;
      await this.#events.delete(batch.map((event) => event.id));
      deleted += batch.length;
      onBatch(deleted);
      if (batch.length < PRUNE_BATCH) return deleted;
      after = batch.at(-1);
      await setTimeout(performance.now() - started);
    }
  }

  #track(write: Promise<unknown>): void {
    const settled = write.catch(() => undefined);
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }
}

/** The row of an entry, stamped now: AuditLog.record writes one; a bulk write (the import) inserts many in its transaction. */
export function auditRow(entry: AuditEntry): AuditEvent {
  return {
    id: uuidv7(),
    at: new Date(),
    action: entry.action,
    outcome: entry.outcome,
    accountId: entry.accountId ?? null,
    instanceId: entry.instanceId ?? null,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent?.slice(0, 512) ?? null,
    details: entry.details ?? null,
  };
}

/** Details (stored as JSON text) holding `key` = `value`, as a condition and its parameter. */
function detailMatch(key: string, value: string): [string, { pair: string }] {
  return ["event.details LIKE :pair ESCAPE '\\'", { pair: `%${escapeLike(JSON.stringify({ [key]: value }).slice(1, -1))}%` }];
}

/** Any of the action names, each exact or, ending in `.*`, a prefix (LIKE, with its own wildcards escaped). */
function actionsMatch(actions: readonly string[]): Brackets {
  return new Brackets((any) => {
    actions.forEach((action, index) => {
      const condition = action.endsWith('.*')
        ? { sql: `event.action LIKE :action${index} ESCAPE '\\'`, value: `${escapeLike(action.slice(0, -1))}%` }
        : { sql: `event.action = :action${index}`, value: action };
      any.orWhere(condition.sql, { [`action${index}`]: condition.value });
    });
  });
}
