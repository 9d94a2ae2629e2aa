import { EntitySchema } from 'typeorm';

/** One oidc-provider model (session, grant, code, token ...) stored by the SQL adapter. */
export interface StoredModel {
  model: string;
  id: string;
  payload: string;
  grantId: string | null;
  uid: string | null;
  userCode: string | null;
  accountId: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

export const StoredModelEntity = new EntitySchema<StoredModel>({
  name: 'StoredModel',
  tableName: 'oidc_models',
  columns: {
    model: { type: 'varchar', length: 64, primary: true },
    id: { type: 'varchar', length: 255, primary: true },
    payload: { type: 'text' },
    grantId: { name: 'grant_id', type: 'varchar', length: 255, nullable: true },
    uid: { type: 'varchar', length: 255, nullable: true },
    userCode: { name: 'user_code', type: 'varchar', length: 255, nullable: true },
    accountId: { name: 'account_id', type: 'varchar', length: 255, nullable: true },
    expiresAt: { name: 'expires_at', type: Date, nullable: true },
    consumedAt: { name: 'consumed_at', type: Date, nullable: true },
  },
});
