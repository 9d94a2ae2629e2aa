import { EntitySchema } from 'typeorm';

/** A mailed address-verification link: only the SHA-256 of its secret is kept, with the address it verifies. */
export interface EmailVerification {
  /** SHA-256 (hex) of the link's secret. */
  id: string;
  accountId: string;
  email: string;
  expiresAt: Date;
  createdAt: Date;
}

export const EmailVerificationEntity = new EntitySchema<EmailVerification>({
  name: 'EmailVerification',
  tableName: 'email_verifications',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36 },
    email: { type: 'varchar', length: 255 },
    expiresAt: { name: 'expires_at', type: Date },
    createdAt: { name: 'created_at', type: Date, createDate: true },
  },
});
