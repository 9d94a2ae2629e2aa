// The durable outbox: every mail is a row, written in the transaction of what caused it (pass its EntityManager), and
// sent later by a worker on any node (mail-worker.ts). A row is claimed with a lease before it is sent, so that of
// all the nodes and workers polling, one sends it; a lease whose node died mid-send runs out and the mail is claimed
// again. Payloads are sealed with the server's secret box: a queued mail may hold a link's secret, and a database
// copy must not open an account; a sent mail keeps no payload at all.
import { v7 as uuidv7 } from 'uuid';
import { In, IsNull, LessThan, LessThanOrEqual, MoreThanOrEqual, Or, type DataSource, type EntityManager, type Repository } from 'typeorm';
import type { SecretBox } from '../security/secret-box.js';
import type { Mail, RequestOrigin } from './mail-kinds.js';
import { OutboxEntity, type OutboxRow } from './outbox-entity.js';

/** A "forgot your password?" request, queued as it was typed: the worker finds the account (forgot-password.ts). */
export interface ResetRequest {
  kind: 'password_reset_request';
  identifier: string;
  origin: RequestOrigin;
}

/** What an outbox row holds: a mail ready to send, or a request the worker turns into one (or into nothing). */
export type OutboxItem = Mail | ResetRequest;

/** A row this worker holds the lease of, its payload opened. */
export interface ClaimedMail {
  id: string;
  attempts: number;
  createdAt: Date;
  item: OutboxItem;
}

const SEAL_PURPOSE = 'mail-outbox';
const MAX_ERROR_LENGTH = 500;

export class MailOutbox {
  readonly #rows: Repository<OutboxRow>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: SecretBox,
    private readonly clock: () => number = Date.now,
  ) {
    this.#rows = dataSource.getRepository(OutboxEntity);
  }

  /** Queues an item, due now; within `manager`'s transaction when given, so that it is sent only if that commits. */
  async enqueue(item: OutboxItem, manager?: EntityManager): Promise<void> {
    const rows = manager ? manager.getRepository(OutboxEntity) : this.#rows;
    await rows.insert({
      id: uuidv7(),
      kind: item.kind,
      accountId: 'accountId' in item ? item.accountId : null,
      payload: await this.secrets.seal(JSON.stringify(item), SEAL_PURPOSE),
      state: 'queued',
      attempts: 0,
      nextAttemptAt: new Date(this.clock()),
      leaseOwner: null,
      leaseUntil: null,
      lastError: null,
      createdAt: new Date(this.clock()),
      finishedAt: null,
    });
  }

  /**
   * Claims up to `limit` due mails for `owner` until `leaseSeconds` from now. PostgreSQL: one UPDATE of the rows a
   * sub-select locks, skipping rows another transaction holds (FOR UPDATE SKIP LOCKED), so concurrent claimers take
   * different rows without waiting. SQLite (one writer at a time): a conditional UPDATE per candidate that matches
   * only while the row is unleased or its lease ran out; the one whose UPDATE changed the row holds it.
   */
  async claim(owner: string, limit: number, leaseSeconds: number): Promise<ClaimedMail[]> {
    const now = new Date(this.clock());
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000);
    const lease = { leaseOwner: owner, leaseUntil, attempts: () => 'attempts + 1' };
    let ids: string[];
    if (this.dataSource.options.type === 'postgres') {
      const result = await this.#rows
        .createQueryBuilder()
        .update(OutboxEntity)
        .set(lease)
        .where(
          `id IN (SELECT id FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= :now AND (lease_until IS NULL OR lease_until <= :now)
            ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)`,
          { now, limit },
        )
        .returning(['id'])
        .execute();
      ids = (result.raw as { id: string }[]).map((row) => row.id);
    } else {
      const free = { state: 'queued' as const, nextAttemptAt: LessThanOrEqual(now), leaseUntil: Or(IsNull(), LessThanOrEqual(now)) };
      const candidates = await this.#rows.find({ select: { id: true }, where: free, order: { nextAttemptAt: 'ASC', id: 'ASC' }, take: limit });
      ids = [];
      for (const { id } of candidates) {
        const result = await this.#rows.update({ id, ...free }, lease);
        if (result.affected === 1) ids.push(id);
      }
    }
    if (ids.length === 0) return [];
    // Sent in the order they were queued (ids are UUIDv7: time-ordered).
    const rows = await this.#rows.find({ where: { id: In(ids), leaseOwner: owner }, order: { id: 'ASC' } });
    return Promise.all(
      rows.map(async (row) => ({
        id: row.id,
        attempts: row.attempts,
        createdAt: row.createdAt,
        item: JSON.parse(await this.secrets.open(row.payload, SEAL_PURPOSE)) as OutboxItem,
      })),
    );
  }

  /** Replaces a claimed request by the mail it became, within `manager`'s transaction (the lease stays). */
  async becomes(id: string, owner: string, mail: Mail, manager: EntityManager): Promise<boolean> {
    const result = await manager
      .getRepository(OutboxEntity)
      .update({ id, leaseOwner: owner }, { kind: mail.kind, accountId: mail.accountId, payload: await this.secrets.seal(JSON.stringify(mail), SEAL_PURPOSE) });
    return result.affected === 1;
  }

  /** Sent: the payload goes (a link's secret is kept nowhere), the row stays until the retention ends. */
  async sent(id: string, owner: string): Promise<void> {
    await this.#rows.update({ id, leaseOwner: owner }, { state: 'sent', payload: '', leaseOwner: null, leaseUntil: null, lastError: null, finishedAt: new Date(this.clock()) });
  }

  /** Not sent this time: tried again at `nextAttemptAt` by whichever node claims it then. */
  async retryAt(id: string, owner: string, nextAttemptAt: Date, error: string): Promise<void> {
    await this.#rows.update({ id, leaseOwner: owner }, { nextAttemptAt, leaseOwner: null, leaseUntil: null, lastError: error.slice(0, MAX_ERROR_LENGTH) });
  }

  /** Given up (too old to be of use): kept, without its payload, until the retention ends. */
  async failed(id: string, owner: string, error: string): Promise<void> {
    await this.#rows.update(
      { id, leaseOwner: owner },
      { state: 'failed', payload: '', leaseOwner: null, leaseUntil: null, lastError: error.slice(0, MAX_ERROR_LENGTH), finishedAt: new Date(this.clock()) },
    );
  }

  /** A request that becomes no mail (no such account, no address, over its cap): removed without a trace. */
  async drop(id: string, owner: string, manager?: EntityManager): Promise<void> {
    await (manager ? manager.getRepository(OutboxEntity) : this.#rows).delete({ id, leaseOwner: owner });
  }

  /** Mails of `kinds` queued (or sent) for the account since `since`: the per-account cap of forgot-password.ts. */
  async countForAccountSince(accountId: string, kinds: string[], since: Date, manager?: EntityManager): Promise<number> {
    const rows = manager ? manager.getRepository(OutboxEntity) : this.#rows;
    return rows.countBy({ accountId, kind: In(kinds), createdAt: MoreThanOrEqual(since) });
  }

  async queued(): Promise<number> {
    return this.#rows.countBy({ state: 'queued' });
  }

  /** Deletes sent and failed mails finished before `before`; how many. */
  async prune(before: Date): Promise<number> {
    const result = await this.#rows.delete({ state: In(['sent', 'failed']), finishedAt: LessThan(before) });
    return result.affected ?? 0;
  }
}
