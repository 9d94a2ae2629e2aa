import { EntitySchema } from 'typeorm';
import type { AccessPolicy } from './instance-entity.js';

/**
 * An admin-issued enrolment token: what lets one ChillFi3 server register itself at the registration endpoint
 * (RFC 7591). Only the SHA-256 of the token is kept; `usedAt` makes it single-use.
 */
export interface EnrolmentToken {
  id: string;
  /** SHA-256 (hex) of the token. */
  tokenHash: string;
  /** The name the instance gets whatever it asks; null: its own client_name. */
  name: string | null;
  accessPolicy: AccessPolicy;
  /** Whether the instance may ask for the `admin` scope. */
  allowAdmin: boolean;
  expiresAt: Date;
  usedAt: Date | null;
  /** The instance it registered. */
  instanceId: string | null;
  /** The account that issued it; null for the operator's shell. */
  createdBy: string | null;
  createdAt: Date;
}

export const EnrolmentTokenEntity = new EntitySchema<EnrolmentToken>({
  name: 'EnrolmentToken',
  tableName: 'enrolment_tokens',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    tokenHash: { name: 'token_hash', type: 'varchar', length: 64, unique: true },
    name: { type: 'varchar', length: 100, nullable: true },
    accessPolicy: { name: 'access_policy', type: 'varchar', length: 10 },
    allowAdmin: { name: 'allow_admin', type: Boolean, default: false },
    expiresAt: { name: 'expires_at', type: Date },
    usedAt: { name: 'used_at', type: Date, nullable: true },
    instanceId: { name: 'instance_id', type: 'varchar', length: 36, nullable: true },
    createdBy: { name: 'created_by', type: 'varchar', length: 36, nullable: true },
    createdAt: { name: 'created_at', type: Date, createDate: true },
  },
});
