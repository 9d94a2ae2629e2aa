// How a command names an account or an instance: by id, or by what a person remembers (a username, a client id).
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import { NotFound } from '../errors.js';
import type { InstanceAccess } from '../instances/instance-access-entity.js';
import type { Instance } from '../instances/instance-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';

/** The account with this id or username. */
export async function accountNamed(accounts: AccountStore, name: string): Promise<Account> {
  const account = (await accounts.find(name)) ?? (await accounts.findByUsername(name));
  if (!account) throw new NotFound(`no user "${name}" (give an id or a username)`);
  return account;
}

/** The instance with this id or client id. */
export async function instanceNamed(instances: InstanceStore, name: string): Promise<Instance> {
  const byId = await instances.get(name).catch((error: unknown) => {
    if (error instanceof NotFound) return null;
    throw error;
  });
  const instance = byId ?? (await instances.findByClientId(name));
  if (!instance) throw new NotFound(`no instance "${name}" (give an id or a client id)`);
  return instance;
}

/** The id of what a lookup found; a name that names nothing is taken as an id, so that a deleted one's entries show. */
export async function idOf(found: Promise<{ id: string }>, name: string): Promise<string> {
  try {
    return (await found).id;
  } catch (error) {
    if (error instanceof NotFound) return name;
    throw error;
  }
}

/** An access link with the names people know beside its ids: null where the account or instance is gone. */
export type NamedAccess = InstanceAccess & { username: string | null; instanceName: string | null; clientId: string | null };

/** The links with their accounts' usernames and their instances' names and client ids, in one query each. */
export async function namedAccess(accounts: AccountStore, instances: InstanceStore, links: InstanceAccess[]): Promise<NamedAccess[]> {
  const distinct = (ids: string[]) => [...new Set(ids)];
  const [named, registered] = await Promise.all([
    accounts.findMany(distinct(links.map((link) => link.accountId))),
    instances.findMany(distinct(links.map((link) => link.instanceId))),
  ]);
  const usernames = new Map(named.map((account) => [account.id, account.username]));
  const byId = new Map(registered.map((instance) => [instance.id, instance]));
  return links.map((link) => ({
    ...link,
    username: usernames.get(link.accountId) ?? null,
    instanceName: byId.get(link.instanceId)?.name ?? null,
    clientId: byId.get(link.instanceId)?.clientId ?? null,
  }));
}
