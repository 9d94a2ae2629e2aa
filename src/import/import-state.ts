// What the plan must know of the auth server before an import: every account (with its password hash, to tell whether
// two instances' users share one; whether it is a server admin or has a set-password link pending, since those are
// linked only by the mapping file) and the access links of the instance imported into.
import { IsNull, MoreThan, type DataSource } from 'typeorm';
import { AccountEntity } from '../accounts/account-entity.js';
import { PasswordLinkEntity } from '../accounts/password-link-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { ImportState } from './import-plan.js';

export async function loadImportState(dataSource: DataSource, instances: InstanceStore, instanceId: string): Promise<ImportState> {
  // One read of every account rather than one per row: the store's lookups would cost a round trip per user.
  const accounts = await dataSource
    .getRepository(AccountEntity)
    .createQueryBuilder('account')
    .select(['account.id', 'account.username', 'account.isAdmin'])
    .addSelect('account.passwordHash')
    .getMany();
  const liveLinks = await dataSource
    .getRepository(PasswordLinkEntity)
    .find({ select: { accountId: true }, where: { usedAt: IsNull(), expiresAt: MoreThan(new Date()) } });
  const pending = new Set(liveLinks.map((link) => link.accountId));
  const links = await instances.listAccess({ instanceId });
  return {
    accounts: accounts.map(({ id, username, passwordHash, isAdmin }) => ({ id, username, passwordHash, isAdmin, passwordLinkPending: pending.has(id) })),
    links: links.map(({ accountId, role, localUserId }) => ({ accountId, role, localUserId })),
  };
}
