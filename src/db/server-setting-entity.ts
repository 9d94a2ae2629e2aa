import { EntitySchema } from 'typeorm';

/**
 * One fact about the deployment as a whole, kept in the database so that every node and the CLI read the same:
 * `first_admin` (first run is over: an admin has existed, src/accounts/first-run-store.ts) and `issuer` (the one the
 * server last started under, src/db/issuer-record.ts).
 */
export interface ServerSetting {
  name: string;
  value: string;
  updatedAt: Date;
}

export const ServerSettingEntity = new EntitySchema<ServerSetting>({
  name: 'ServerSetting',
  tableName: 'server_settings',
  columns: {
    name: { type: 'varchar', length: 64, primary: true },
    value: { type: 'varchar', length: 2048 },
    updatedAt: { name: 'updated_at', type: Date, updateDate: true },
  },
});
