import { EntitySchema } from 'typeorm';

/** Where a mail is: waiting to be sent (again), sent, or given up after MAIL_GIVE_UP_HOURS. */
export type OutboxState = 'queued' | 'sent' | 'failed';

/** One mail in the durable outbox (src/mail/mail-outbox.ts). */
export interface OutboxRow {
  id: string;
  kind: string;
  /** The account it is for (its deletion deletes the mail); null for a request not yet tied to one. */
  accountId: string | null;
  /** The mail's recipient and template data as JSON, sealed (it may hold a link's secret). */
  payload: string;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: Date;
  /** The worker sending it now, and until when it may (src/mail/mail-worker.ts). */
  leaseOwner: string | null;
  leaseUntil: Date | null;
  lastError: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export const OutboxEntity = new EntitySchema<OutboxRow>({
  name: 'OutboxMail',
  tableName: 'mail_outbox',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    kind: { type: 'varchar', length: 40 },
    accountId: { name: 'account_id', type: 'varchar', length: 36, nullable: true },
    payload: { type: 'text' },
    state: { type: 'varchar', length: 10 },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { name: 'next_attempt_at', type: Date },
    leaseOwner: { name: 'lease_owner', type: 'varchar', length: 64, nullable: true },
    leaseUntil: { name: 'lease_until', type: Date, nullable: true },
    lastError: { name: 'last_error', type: 'varchar', length: 500, nullable: true },
    createdAt: { name: 'created_at', type: Date },
    finishedAt: { name: 'finished_at', type: Date, nullable: true },
  },
});
