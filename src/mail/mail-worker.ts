// The worker every node runs (src/services.ts starts it, shutdown stops it): it polls the outbox, claims what is due
// (mail-outbox.ts leases it to this worker alone), turns requests into mails, renders and sends each, and marks it
// sent, or gives it back with exponential backoff when the relay is down or refuses. A mail is never lost to a relay
// outage: it waits in the database, whichever node restarts. Mail older than MAIL_GIVE_UP_HOURS is given up (its
// link has long expired); sent and given-up rows go after MAIL_RETENTION_DAYS. Nothing here is on a request's path.
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { MailConfig } from '../../config/index.js';
import type { Logger } from '../logger.js';
import { mailGivenUp, mailQueued, mailSendFailures, mailSent } from '../metrics/metrics.js';
import { mailableAddress } from './mail-address.js';
import type { Mail } from './mail-kinds.js';
import type { ClaimedMail, MailOutbox, ResetRequest } from './mail-outbox.js';
import { renderMail, type MailSite } from './mail-templates.js';
import type { MailTransport } from './mail-transport.js';

/** What a request became: its mail (null: none), and what to do once that is committed (an audit entry). */
export interface PreparedRequest {
  mail: Mail | null;
  afterCommit?: () => Promise<void>;
}

/** Turns a queued request into the mail it asks for, within the transaction given, or into none. */
export type RequestPreparer = (request: ResetRequest, manager: EntityManager) => Promise<PreparedRequest>;

export interface MailWorkerOptions {
  dataSource: DataSource;
  outbox: MailOutbox;
  transport: MailTransport;
  prepare: RequestPreparer;
  site: MailSite;
  config: Pick<MailConfig, 'pollIntervalMs' | 'leaseSeconds' | 'retryMaxSeconds' | 'giveUpHours' | 'retentionDays'>;
  clock: () => number;
  logger: Logger;
}

/** Mails claimed at once: a small batch, so that several nodes share a burst. */
const BATCH = 10;
/** The first retry's wait; each further one doubles it, up to MAIL_RETRY_MAX_SECONDS. */
const FIRST_RETRY_SECONDS = 5;
/** Polls between two prunes of old rows. */
const PRUNE_EVERY = 100;
const DAY_MS = 86_400_000;

/** Seconds before attempt `attempts + 1`: 5, 10, 20, ... capped. */
export function backoffSeconds(attempts: number, maxSeconds: number): number {
  return Math.min(maxSeconds, FIRST_RETRY_SECONDS * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

export class MailWorker {
  /** This worker's name on the leases it holds. */
  readonly owner = randomUUID();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #polls = 0;

  constructor(private readonly options: MailWorkerOptions) {}

  start(): this {
    this.#schedule();
    return this;
  }

  /** Stops polling and waits for the mails in hand to be sent or given back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    this.options.transport.close();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.poll()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'mail outbox poll failed; trying again'))
        .finally(() => this.#schedule());
    }, this.options.config.pollIntervalMs).unref();
  }

  /** One look at the outbox: claims what is due and handles it; how many mails were handled. */
  async poll(): Promise<number> {
    const { outbox, config, clock } = this.options;
    const claimed = await outbox.claim(this.owner, BATCH, config.leaseSeconds);
    for (const mail of claimed) await this.#handle(mail);
    if (this.#polls++ % PRUNE_EVERY === 0 && config.retentionDays > 0) await outbox.prune(new Date(clock() - config.retentionDays * DAY_MS));
    mailQueued.set(await outbox.queued());
    return claimed.length;
  }

  async #handle(claimed: ClaimedMail): Promise<void> {
    const { outbox, logger } = this.options;
    let mail: Mail | null;
    try {
      mail = claimed.item.kind === 'password_reset_request' ? await this.#prepare(claimed.id, claimed.item) : claimed.item;
    } catch (err) {
      // The store failed while the request was looked at: it is tried again like a mail the relay refused.
      return this.#notSent(claimed, err);
    }
    if (!mail) return;
    const to = mailableAddress(mail.to);
    if (!to) {
      // Checked when addresses are stored and queued; a row that still has none cannot be sent, ever.
      logger.warn({ mail: claimed.id, kind: mail.kind }, 'mail dropped: its address cannot receive mail');
      await outbox.failed(claimed.id, this.owner, 'the address cannot receive mail');
      mailGivenUp.inc({ kind: mail.kind });
      return;
    }
    try {
      await this.options.transport.send(to, await renderMail(mail, this.options.site));
    } catch (err) {
      return this.#notSent(claimed, err, mail.kind);
    }
    await outbox.sent(claimed.id, this.owner);
    mailSent.inc({ kind: mail.kind });
    logger.info({ mail: claimed.id, kind: mail.kind, attempts: claimed.attempts }, 'mail sent');
  }

  /** The request's mail, stored in its row in the transaction that made what it holds (a link), or null: dropped. */
  async #prepare(id: string, request: ResetRequest): Promise<Mail | null> {
    const { dataSource, outbox, prepare } = this.options;
    const prepared = await dataSource.transaction(async (manager) => {
      const result = await prepare(request, manager);
      if (result.mail) await outbox.becomes(id, this.owner, result.mail, manager);
      else await outbox.drop(id, this.owner, manager);
      return result;
    });
    await prepared.afterCommit?.();
    return prepared.mail;
  }

  async #notSent(claimed: ClaimedMail, err: unknown, kind = claimed.item.kind): Promise<void> {
    const { outbox, config, clock, logger } = this.options;
    const reason = err instanceof Error ? err.message : String(err);
    mailSendFailures.inc({ kind });
    if (clock() - claimed.createdAt.getTime() > config.giveUpHours * 3_600_000) {
      logger.error({ mail: claimed.id, kind, attempts: claimed.attempts, reason }, 'mail given up: not sent within MAIL_GIVE_UP_HOURS');
      mailGivenUp.inc({ kind });
      return outbox.failed(claimed.id, this.owner, reason);
    }
    const next = new Date(clock() + backoffSeconds(claimed.attempts, config.retryMaxSeconds) * 1000);
    logger.warn({ mail: claimed.id, kind, attempts: claimed.attempts, next, reason }, 'mail not sent; it stays queued and is tried again');
    await outbox.retryAt(claimed.id, this.owner, next, reason);
  }
}
