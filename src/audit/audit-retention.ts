// How long the audit trail keeps its entries (AUDIT_RETENTION_DAYS): older ones are pruned now and then by every
// running server, and on demand by `chillfi3-auth audit prune`. Several nodes pruning at once delete the same rows,
// which is harmless.
import type { AuditLog } from './audit-log.js';

const DAY_MS = 86_400_000;
/** How often a server prunes: a day's worth of a busy trail, deleted in batches, at most one hour late. */
const PRUNE_EVERY_MS = 3_600_000;

export interface AuditRetentionOptions {
  /** How often the periodic prune runs (the hourly default, shorter in tests). */
  everyMs?: number;
  /** What a periodic prune that fails is reported to (it is retried at the next run). */
  onError?: (error: unknown) => void;
  /** What a periodic prune that deleted entries reports: how many, and how long it took. */
  onPruned?: (deleted: number, milliseconds: number) => void;
}

export class AuditRetention {
  #timer: NodeJS.Timeout | undefined;
  /** The prune under way, if any: a run that comes while one is still going is skipped. */
  #running: Promise<unknown> | undefined;

  /** `days`: entries older than this many days are pruned; 0 keeps them forever. */
  constructor(
    private readonly audit: AuditLog,
    readonly days: number,
    private readonly options: AuditRetentionOptions = {},
  ) {}

  /** The oldest moment kept at `now`, or undefined when entries are kept forever. */
  cutoff(now = new Date()): Date | undefined {
    return this.days === 0 ? undefined : new Date(now.getTime() - this.days * DAY_MS);
  }

  /**
   * Deletes the entries older than the cutoff, in batches (AuditLog.prune; `onBatch` hears the running total); resolves
   * to how many (0 when entries are kept forever).
   */
  async pruneNow(now = new Date(), onBatch?: (deleted: number) => void): Promise<number> {
    const cutoff = this.cutoff(now);
    return cutoff ? this.audit.prune(cutoff, onBatch) : 0;
  }

  /** One periodic run: the prune, its count reported when it deleted any. */
  async #prunePeriodically(): Promise<void> {
    const started = performance.now();
    const deleted = await this.pruneNow();
    if (deleted > 0) this.options.onPruned?.(deleted, Math.round(performance.now() - started));
  }

  /** Prunes every `everyMs`, on a timer that never keeps the process alive. Nothing to do when kept forever. */
  start(): this {
    if (this.days === 0 || this.#timer) return this;
    const { everyMs = PRUNE_EVERY_MS, onError = () => {} } = this.options;
    this.#timer = setInterval(() => {
      this.#running ??= this.#prunePeriodically()
        .catch(onError)
        .finally(() => (this.#running = undefined));
    }, everyMs).unref();
    return this;
  }

  /** Stops the timer; resolves once a prune under way has ended, so the database can be closed after. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
