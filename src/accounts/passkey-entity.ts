import { EntitySchema } from 'typeorm';

/** How a passkey reaches its authenticator (WebAuthn AuthenticatorTransport: `internal`, `hybrid`, `usb`, ...). */
export type PasskeyTransport = string;

/** A WebAuthn credential registered to an account: what a sign-in with it is checked against. Nothing in it is secret. */
export interface Passkey {
  /** Ours (UUIDv7): what pages and the API name it by. */
  id: string;
  accountId: string;
  /** The authenticator's credential id, base64url. */
  credentialId: string;
  /** The credential's COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen; 0 for authenticators that keep none. */
  counter: number;
  transports: PasskeyTransport[];
  /** Whether the authenticator said it is backed up (a synced passkey: on the person's other devices too). */
  backedUp: boolean;
  /** What its owner calls it. */
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** bigint columns come back from PostgreSQL as strings: the counter (an unsigned 32-bit number) fits a JS number. */
const counterColumn = { from: (value: string | number) => Number(value), to: (value: number) => value };

/** The transports as one column: a comma-separated list (each is a short token without commas). */
const transportsColumn = {
  from: (value: string | null) => (value ? value.split(',') : []),
  to: (value: PasskeyTransport[] | undefined) => (value && value.length > 0 ? value.join(',') : null),
};

export const PasskeyEntity = new EntitySchema<Passkey>({
  name: 'Passkey',
  tableName: 'passkeys',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36 },
    credentialId: { name: 'credential_id', type: 'varchar', length: 1400, unique: true },
    publicKey: { name: 'public_key', type: 'text' },
    counter: { type: 'bigint', default: 0, transformer: counterColumn },
    transports: { type: 'varchar', length: 255, nullable: true, transformer: transportsColumn },
    backedUp: { name: 'backed_up', type: Boolean, default: false },
    name: { type: 'varchar', length: 60 },
    createdAt: { name: 'created_at', type: Date, createDate: true },
    lastUsedAt: { name: 'last_used_at', type: Date, nullable: true },
  },
});
