import { EntitySchema } from 'typeorm';

export type InstanceRole = 'member' | 'admin';

/** Who may use which instance, with what role, and their numeric user id on that ChillFi3 server. */
export interface InstanceAccess {
  instanceId: string;
  accountId: string;
  role: InstanceRole;
  localUserId: number | null;
  createdAt: Date;
}

export const InstanceAccessEntity = new EntitySchema<InstanceAccess>({
  name: 'InstanceAccess',
  tableName: 'instance_access',
  columns: {
    instanceId: { name: 'instance_id', type: 'varchar', length: 36, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36, primary: true },
    role: { type: 'varchar', length: 10, default: 'member' },
    localUserId: { name: 'local_user_id', type: 'integer', nullable: true },
    createdAt: { name: 'created_at', type: Date, createDate: true },
  },
});
