import { EntitySchema } from 'typeorm';

/**
 * One second factor of an account: an authenticator app (TOTP), a passkey, ... Which kind it is says how `secretSealed`,
 * `data` and `lastCounter` are read (src/mfa/factor-kind.ts); the sign-in step and the admin views only need the row.
 */
export interface SecondFactor {
  id: string;
  accountId: string;
  /** The kind's id (FactorKind.kind): 'totp'. Passkeys keep a table of their own (src/accounts/passkey-store.ts). */
  kind: string;
  /** What the user called it ("Phone"), shown on /account and to admins. */
  name: string;
  /** A shared secret (TOTP's), sealed with AUTH_SECRET_KEY (src/security/secret-box.ts); null for kinds that keep none. */
  secretSealed: string | null;
  /** Public, kind-specific data, as JSON. */
  data: Record<string, unknown> | null;
  /**
   * The highest counter accepted so far: TOTP's time step, a WebAuthn signature counter. Only ever raised, by a
   * conditional UPDATE (SecondFactorStore.advanceCounter), so that a value is accepted once however many ask at once.
   */
  lastCounter: number | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** bigint comes back as a string from PostgreSQL: read it as the number it is (a WebAuthn counter fits 2^32). */
const bigintAsNumber = {
  to: (value: number | null) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export const SecondFactorEntity = new EntitySchema<SecondFactor>({
  name: 'SecondFactor',
  tableName: 'second_factors',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36 },
    kind: { type: 'varchar', length: 20 },
    name: { type: 'varchar', length: 100 },
    secretSealed: { name: 'secret_sealed', type: 'text', nullable: true, select: false },
    data: { type: 'simple-json', nullable: true },
    lastCounter: { name: 'last_counter', type: 'bigint', nullable: true, transformer: bigintAsNumber },
    createdAt: { name: 'created_at', type: Date, createDate: true },
    lastUsedAt: { name: 'last_used_at', type: Date, nullable: true },
  },
  indices: [{ name: 'second_factors_account', columns: ['accountId'] }],
});

/** One recovery code: only the SHA-256 of the code is kept; used once, then marked. */
export interface RecoveryCode {
  id: string;
  accountId: string;
  /** SHA-256 (hex) of the account id and the normalized code. */
  codeHash: string;
  usedAt: Date | null;
  createdAt: Date;
}

export const RecoveryCodeEntity = new EntitySchema<RecoveryCode>({
  name: 'RecoveryCode',
  tableName: 'recovery_codes',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36 },
    codeHash: { name: 'code_hash', type: 'varchar', length: 64, unique: true },
    usedAt: { name: 'used_at', type: Date, nullable: true },
    createdAt: { name: 'created_at', type: Date, createDate: true },
  },
  indices: [{ name: 'recovery_codes_account', columns: ['accountId'] }],
});
