import { EntitySchema } from 'typeorm';

/** What an instance hears of on its revocation stream (GET /revocations). */
export const REVOCATION_TYPES = [
  'grant.revoked',
  'token.revoked',
  'session.ended',
  'account.disabled',
  'account.deleted',
  'access.changed',
  'access.revoked',
  'keys.changed',
  'secret.rotated',
] as const;

export type RevocationType = (typeof REVOCATION_TYPES)[number];

/** What happened, and to what: the fields its type names, the others null. */
export interface RevocationDetails {
  /** The account (the tokens' sub). */
  sub?: string | null;
  grantId?: string | null;
  /** The session id the instance was given (its tokens' sid). */
  sid?: string | null;
  /** A revoked token's id. */
  jti?: string | null;
}

/** One event: for one instance (its client id), or for every instance (null: signing keys changed). */
export interface RevocationEvent {
  /** Increasing: the stream's event id, what Last-Event-ID resumes after. */
  id: number;
  at: Date;
  clientId: string | null;
  type: RevocationType;
  details: RevocationDetails;
}

export const RevocationEventEntity = new EntitySchema<RevocationEvent>({
  name: 'RevocationEvent',
  tableName: 'revocation_events',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    at: { type: Date },
    clientId: { name: 'client_id', type: 'varchar', length: 64, nullable: true },
    type: { type: 'varchar', length: 40 },
    details: { type: 'simple-json' },
  },
});
