// What the plan must know of the auth server before an import, and only for the rows being imported: the accounts they
// could be (by the username of each row and whatever the mapping file names: with the password hash, to tell whether
// two instances' users share one; whether it is a server admin or has a set-password link pending, since those are
// linked only by the mapping file) and the access links of the instance imported into that concern them (by the rows'
// local ids, or held by those accounts). A server of a million accounts is read a few hundred rows at a time by its
// indexes, never whole.
import { In, IsNull, MoreThan, type DataSource } from 'typeorm';
import type { Account } from '../accounts/account-entity.js';
import { AccountEntity } from '../accounts/account-entity.js';
import { PasswordLinkEntity } from '../accounts/password-link-entity.js';
import { usernameKey } from '../accounts/username.js';
import { isStorable } from '../db/storable.js';
import { InstanceAccessEntity, type InstanceAccess } from '../instances/instance-access-entity.js';
import type { ChillFi3Row } from './chillfi3-user.js';
import type { ImportMapping } from './import-mapping.js';
import type { ImportState } from './import-plan.js';

/** Keys or ids per statement: within SQLite's 999 parameters, and short statements on PostgreSQL. */
const CHUNK = 500;

/** What the rows and the mapping file name: the usernames (any spelling), the account ids, the local ids. */
export interface ImportNames {
  usernames: string[];
  accountIds: string[];
  localIds: number[];
}

/** The names the rows and the mapping file hold, as the plan will look them up (import-plan.ts). */
export function namesOf(rows: readonly ChillFi3Row[], mapping: ImportMapping): ImportNames {
  const usernames: string[] = [];
  const accountIds: string[] = [];
  const localIds: number[] = [];
  for (const row of rows) {
    const username = typeof row.username === 'string' ? row.username : String(row.username ?? '');
    const localId = Number(row.id);
    usernames.push(username);
    if (Number.isSafeInteger(localId)) localIds.push(localId);
    const target = Number.isSafeInteger(localId) ? mapping.targetOf(localId, username) : undefined;
    if (target && 'account' in target) {
      usernames.push(target.account);
      accountIds.push(target.account);
    }
    if (target && 'create' in target) usernames.push(target.create);
  }
  return { usernames, accountIds, localIds };
}

function chunks<T>(values: readonly T[]): T[][] {
  const unique = [...new Set(values)];
  return Array.from({ length: Math.ceil(unique.length / CHUNK) }, (_, index) => unique.slice(index * CHUNK, (index + 1) * CHUNK));
}

export async function loadImportState(dataSource: DataSource, instanceId: string, names: ImportNames): Promise<ImportState> {
  const accountsRepository = dataSource.getRepository(AccountEntity);
  const access = dataSource.getRepository(InstanceAccessEntity);
  const links = new Map<string, InstanceAccess>();
  for (const localIds of chunks(names.localIds)) {
    for (const link of await access.findBy({ instanceId, localUserId: In(localIds) })) links.set(link.accountId, link);
  }
  const accounts = new Map<string, Account>();
  const read = async (where: 'account.usernameKey IN (:...values)' | 'account.id IN (:...values)', values: string[]) => {
    for (const chunk of chunks(values.filter(isStorable))) {
      const found = await accountsRepository
        .createQueryBuilder('account')
        .select(['account.id', 'account.username', 'account.isAdmin'])
        .addSelect('account.passwordHash')
        .where(where, { values: chunk })
        .getMany();
      for (const account of found) accounts.set(account.id, account);
    }
  };
  await read('account.usernameKey IN (:...values)', names.usernames.filter(isStorable).map(usernameKey));
  await read('account.id IN (:...values)', [...names.accountIds, ...links.keys()]);
  const pending = new Set<string>();
  for (const accountIds of chunks([...accounts.keys()])) {
    for (const link of await access.findBy({ instanceId, accountId: In(accountIds) })) links.set(link.accountId, link);
    const live = await dataSource
      .getRepository(PasswordLinkEntity)
      .find({ select: { accountId: true }, where: { accountId: In(accountIds), usedAt: IsNull(), expiresAt: MoreThan(new Date()) } });
    for (const link of live) pending.add(link.accountId);
  }
  return {
    accounts: [...accounts.values()].map(({ id, username, passwordHash, isAdmin }) => ({ id, username, passwordHash, isAdmin, passwordLinkPending: pending.has(id) })),
    links: [...links.values()].map(({ accountId, role, localUserId }) => ({ accountId, role, localUserId })),
  };
}
