import { EntitySchema } from 'typeorm';

/** An admin-issued set-password link: only the SHA-256 of its secret is kept. */
export interface PasswordLink {
  /** SHA-256 (hex) of the link's secret. */
  id: string;
  accountId: string;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
}

export const PasswordLinkEntity = new EntitySchema<PasswordLink>({
  name: 'PasswordLink',
  tableName: 'password_links',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36 },
    expiresAt: { name: 'expires_at', type: Date },
    usedAt: { name: 'used_at', type: Date, nullable: true },
    createdAt: { name: 'created_at', type: Date, createDate: true },
  },
});
