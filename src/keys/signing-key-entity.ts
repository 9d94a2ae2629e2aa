import { EntitySchema } from 'typeorm';

export type SigningKeyState = 'next' | 'active' | 'retiring';

/** One key of the provider's signing key set, shared by every node. The private JWK is encrypted at rest. */
export interface SigningKey {
  kid: string;
  alg: string;
  privateJwkEncrypted: string;
  state: SigningKeyState;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

export const SigningKeyEntity = new EntitySchema<SigningKey>({
  name: 'SigningKey',
  tableName: 'signing_keys',
  columns: {
    kid: { type: 'varchar', length: 64, primary: true },
    alg: { type: 'varchar', length: 16 },
    privateJwkEncrypted: { name: 'private_jwk_encrypted', type: 'text' },
    state: { type: 'varchar', length: 10 },
    createdAt: { name: 'created_at', type: Date, createDate: true },
    activatedAt: { name: 'activated_at', type: Date, nullable: true },
    retiredAt: { name: 'retired_at', type: Date, nullable: true },
  },
});
