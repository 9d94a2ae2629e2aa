// What the plan must know of the auth server before an import: every account (with its password hash, to tell whether
// two instances' users share one) and the access links of the instance imported into.
import type { DataSource } from 'typeorm';
import { AccountEntity } from '../accounts/account-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { ImportState } from './import-plan.js';

export async function loadImportState(dataSource: DataSource, instances: InstanceStore, instanceId: string): Promise<ImportState> {
  // One read of every account rather than one per row: the store's lookups would cost a round trip per user.
  const accounts = await dataSource
    .getRepository(AccountEntity)
    .createQueryBuilder('account')
    .select(['account.id', 'account.username'])
    .addSelect('account.passwordHash')
    .getMany();
  const links = await instances.listAccess({ instanceId });
  return {
    accounts: accounts.map(({ id, username, passwordHash }) => ({ id, username, passwordHash })),
    links: links.map(({ accountId, role, localUserId }) => ({ accountId, role, localUserId })),
  };
}
