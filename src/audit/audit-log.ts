import { v7 as uuidv7 } from 'uuid';
import type { DataSource, Repository } from 'typeorm';
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

/** Appends to the audit trail (auth_audit). Details must never hold secrets or tokens. */
export class AuditLog {
  readonly #events: Repository<AuditEvent>;

  constructor(dataSource: DataSource) {
    this.#events = dataSource.getRepository(AuditEventEntity);
  }

  async record(entry: AuditEntry): Promise<void> {
    await this.#events.insert({
      id: uuidv7(),
      at: new Date(),
      action: entry.action,
      outcome: entry.outcome,
      accountId: entry.accountId ?? null,
      instanceId: entry.instanceId ?? null,
      ip: entry.ip ?? null,
      userAgent: entry.userAgent?.slice(0, 512) ?? null,
      details: entry.details ?? null,
    });
  }

  /** Newest first. */
  recent(limit = 100, accountId?: string): Promise<AuditEvent[]> {
    return this.#events.find({ where: accountId ? { accountId } : {}, order: { at: 'DESC', id: 'DESC' }, take: limit });
  }
}
