// The revocation feed: what instances hear on their stream (GET /revocations, src/http/revocation-stream.ts). Every
// event is a row of revocation_events, written by whichever process made the change (a node, the CLI); the row's
// increasing id is the stream's event id, so a reconnecting instance resumes after the last one it heard
// (Last-Event-ID) for as long as rows are kept (at least TOKEN_TTL). The node that writes an event delivers it to its
// own streams at once; every node with a stream open also reads the table every POLL_MS, which carries events written
// by other nodes and by the CLI, on every database (SQLite, PostgreSQL, with or without Redis): one shared source of
// truth, no second channel to keep in step with it.
//
// Ids are handed out in insertion order but may become visible out of it (two transactions committing in reverse
// order): each read looks back LATE_COMMIT_MS behind the highest id seen, and an id already delivered is not delivered
// twice.
import { LessThan, MoreThan, type DataSource, type Repository } from 'typeorm';
import { type RevocationDetails, type RevocationEvent, RevocationEventEntity, type RevocationType } from './revocation-event-entity.js';

/** How often a node with listeners reads the table for events written elsewhere. */
export const POLL_MS = 200;
/** How long a commit may lag behind the insert that took its id and still be delivered. */
const LATE_COMMIT_MS = 2000;
/** Rows read at once. */
const PAGE = 500;
/** How often old rows are deleted. */
const PRUNE_EVERY_MS = 60_000;

/** An event to publish: for one instance (its client id), or null for every instance. */
export interface RevocationNotice {
  clientId: string | null;
  type: RevocationType;
  details?: RevocationDetails;
}

export type RevocationListener = (event: RevocationEvent) => void;

/** What the operations tell the feed through: announce never rejects. */
export interface RevocationAnnouncer {
  announce(notices: readonly RevocationNotice[]): Promise<void>;
}

export interface RevocationFeedOptions {
  /** Seconds an event is kept: at least TOKEN_TTL, so that a token revoked while an instance was away is heard of. */
  retentionSeconds: number;
  pollMs?: number;
  /** Where a failed read or publish is reported (the feed goes on). */
  onError?: (error: unknown) => void;
}

export class RevocationFeed implements RevocationAnnouncer {
  readonly #events: Repository<RevocationEvent>;
  readonly #listeners = new Set<RevocationListener>();
  /** The open streams of this node, each ended by its function (endStreams). */
  readonly #streams = new Set<() => void>();
  /** Ids delivered to this node's listeners, with when they were first seen. */
  readonly #delivered = new Map<number, number>();
  /** The highest id seen, and when each value was reached: the look-back floor is the highest of LATE_COMMIT_MS ago. */
  #marks: { at: number; highest: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #lastPrune = 0;

  constructor(
    dataSource: DataSource,
    private readonly options: RevocationFeedOptions,
  ) {
    this.#events = dataSource.getRepository(RevocationEventEntity);
  }

  /** Writes the events and delivers them to this node's streams at once (the others read them within POLL_MS). */
  async publish(notices: readonly RevocationNotice[]): Promise<void> {
    if (notices.length === 0) return;
    const at = new Date();
    const rows = notices.map(({ clientId, type, details = {} }) => this.#events.create({ at, clientId, type, details }));
    await this.#events.save(rows, { chunk: 100 });
    for (const row of rows) this.#deliver(row);
    // Where nobody listens nothing polls: writers prune too, so that the table never outgrows the retention.
    if (this.#timer === undefined) await this.#pruneWhenDue();
  }

  async #pruneWhenDue(): Promise<void> {
    if (Date.now() - this.#lastPrune <= PRUNE_EVERY_MS) return;
    this.#lastPrune = Date.now();
    await this.prune();
  }

  /** Publishes; a failure is reported, never thrown at the change that caused it (which has happened). */
  async announce(notices: readonly RevocationNotice[]): Promise<void> {
    await this.publish(notices).catch((error: unknown) => this.options.onError?.(error));
  }

  /** The events for this instance (and for every instance) after `afterId`, oldest first, up to `limit`. */
  since(clientId: string, afterId: number, limit = PAGE): Promise<RevocationEvent[]> {
    return this.#events
      .createQueryBuilder('event')
      .where('event.id > :afterId', { afterId })
      .andWhere('(event.clientId = :clientId OR event.clientId IS NULL)', { clientId })
      .orderBy('event.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** The lowest id still kept, or null when none is: an older Last-Event-ID may have missed pruned events. */
  async oldestId(): Promise<number | null> {
    const row = await this.#events.createQueryBuilder('event').select('MIN(event.id)', 'id').getRawOne<{ id: number | string | null }>();
    return row?.id === null || row?.id === undefined ? null : Number(row.id);
  }

  /** The highest id written so far (0: none): where a stream opened without Last-Event-ID starts. */
  async latestId(): Promise<number> {
    const row = await this.#events.createQueryBuilder('event').select('MAX(event.id)', 'id').getRawOne<{ id: number | string | null }>();
    return Number(row?.id ?? 0);
  }

  /** Every event from now on, this node's and the others' (read every POLL_MS while anyone listens). */
  async subscribe(listener: RevocationListener): Promise<() => void> {
    if (this.#listeners.size === 0) await this.#startPolling();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stopPolling();
    };
  }

  /** Deletes the events older than the retention (also done by the polling node every minute). */
  async prune(): Promise<number> {
    const cutoff = new Date(Date.now() - this.options.retentionSeconds * 1000);
    const result = await this.#events.delete({ at: LessThan(cutoff) });
    return result.affected ?? 0;
  }

  /** Keeps `end` to be called by endStreams(); the returned function forgets it. */
  onStop(end: () => void): () => void {
    this.#streams.add(end);
    return () => void this.#streams.delete(end);
  }

  /** Ends every open stream of this node (a stop: its instances reconnect to another node and resume there). */
  endStreams(): void {
    for (const end of [...this.#streams]) end();
    this.#streams.clear();
  }

  async close(): Promise<void> {
    this.endStreams();
    this.#listeners.clear();
    this.#stopPolling();
    await this.#polling;
  }

  #deliver(event: RevocationEvent): void {
    if (this.#listeners.size === 0 || this.#delivered.has(event.id)) return;
    this.#delivered.set(event.id, Date.now());
    this.#raise(event.id);
    for (const listener of this.#listeners) listener(event);
  }

  #raise(id: number): void {
    const highest = this.#marks.at(-1)?.highest ?? 0;
    if (id > highest) this.#marks.push({ at: Date.now(), highest: id });
  }

  /** The highest id seen LATE_COMMIT_MS ago: reads look at everything above it. */
  #floor(): number {
    const cutoff = Date.now() - LATE_COMMIT_MS;
    let floor = 0;
    let keepFrom = 0;
    this.#marks.forEach((mark, index) => {
      if (mark.at <= cutoff) {
        floor = mark.highest;
        keepFrom = index;
      }
    });
    this.#marks = this.#marks.slice(keepFrom);
    for (const [id] of this.#delivered) if (id <= floor) this.#delivered.delete(id);
    return floor;
  }

  async #startPolling(): Promise<void> {
    if (this.#timer) return;
    // From now on: what is already there is for Last-Event-ID to replay, not for the listeners.
    this.#marks = [{ at: 0, highest: await this.latestId() }];
    this.#timer = setInterval(() => {
      this.#polling ??= this.#poll().finally(() => (this.#polling = undefined));
    }, this.options.pollMs ?? POLL_MS);
    this.#timer.unref();
  }

  #stopPolling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    try {
      let cursor = this.#floor();
      for (;;) {
        const rows = await this.#events.find({ where: { id: MoreThan(cursor) }, order: { id: 'ASC' }, take: PAGE });
        for (const row of rows) this.#deliver(row);
        if (rows.length < PAGE) break;
        cursor = rows.at(-1)!.id;
      }
      await this.#pruneWhenDue();
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
