import { EntitySchema } from 'typeorm';

/** Flat, non-secret facts about the event. */
export type AuditDetails = Record<string, string | number | boolean | null>;

export type AuditOutcome = 'success' | 'failure';

/** One line of the audit trail: who did what, from where, and how it went. */
export interface AuditEvent {
  id: string;
  at: Date;
  action: string;
  outcome: AuditOutcome;
  accountId: string | null;
  instanceId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: AuditDetails | null;
}

export const AuditEventEntity = new EntitySchema<AuditEvent>({
  name: 'AuditEvent',
  tableName: 'auth_audit',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    at: { type: Date },
    action: { type: 'varchar', length: 64 },
    outcome: { type: 'varchar', length: 16 },
    accountId: { name: 'account_id', type: 'varchar', length: 36, nullable: true },
    instanceId: { name: 'instance_id', type: 'varchar', length: 64, nullable: true },
    ip: { type: 'varchar', length: 64, nullable: true },
    userAgent: { name: 'user_agent', type: 'varchar', length: 512, nullable: true },
    details: { type: 'simple-json', nullable: true },
  },
});
