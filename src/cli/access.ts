// `chillfi3-auth access ...`: who may use which instance, with what role and local user id.
import type { Command } from 'commander';
import { DEFAULT_ACCOUNT_PAGE, MAX_ACCOUNT_PAGE } from '../accounts/account-store.js';
import { decodeKeyCursor, keyPage } from '../db/key-cursor.js';
import { BadRequest } from '../errors.js';
import type { InstanceRole } from '../instances/instance-access-entity.js';
import { type CliContext, OPERATOR } from './context.js';
import { accountNamed, instanceNamed, namedAccess, type NamedAccess } from './lookups.js';
import { pageSize, printed, table, usageError, type Output } from './output.js';

/** A local user id argument: a whole number, or `none` to forget it. */
function localId(value: string): number | null {
  if (value === 'none') return null;
  if (!/^\d+$/.test(value)) throw new BadRequest(`local id "${value}" is not a whole number (or "none")`);
  return Number(value);
}

/** The links as a table, each account by username and each instance by name with its client id beside (names alone can look alike). */
function accessLines(links: NamedAccess[]): string[] {
  if (links.length === 0) return ['No access.'];
  return table(
    ['INSTANCE', 'NAME', 'CLIENT_ID', 'ACCOUNT', 'USERNAME', 'ROLE', 'LOCAL ID', 'SINCE'],
    links.map((link) => [
      link.instanceId,
      link.instanceName ?? '',
      link.clientId ?? '',
      link.accountId,
      link.username ?? '',
      link.role,
      link.localUserId === null ? '' : String(link.localUserId),
      link.createdAt.toISOString(),
    ]),
  );
}

export function addAccessCommand(program: Command, context: CliContext): void {
  const access = program.command('access').description('Who may use which instance: roles and local user ids.');

  access
    .command('grant')
    .description('Let an account use an instance (an invite-only one needs this), with a role and its local user id there.')
    .argument('<user>', 'id or username')
    .argument('<instance>', 'id or client id')
    .option('--role <role>', 'member or admin', 'member')
    .option('--local-id <id>', "the account's numeric user id in that instance's own database")
    .action(
      printed(context.io, (user: string, instance: string, options: { role: string; localId?: string }) =>
        context.withServices(async ({ accounts, instances, accessOperations }) => {
          const [account, target] = await Promise.all([accountNamed(accounts, user), instanceNamed(instances, instance)]);
          const link = await accessOperations.grant(target.id, account.id, options.role as InstanceRole, options.localId ? localId(options.localId) : null, OPERATOR);
          return { json: { access: link }, lines: [`"${account.username}" may use "${target.name}" as ${link.role}.`] };
        }),
      ),
    );

  const change = access
    .command('set')
    .description("Change an account's role or local user id on an instance.")
    .argument('<user>', 'id or username')
    .argument('<instance>', 'id or client id')
    .option('--role <role>', 'member or admin')
    .option('--local-id <id>', 'a whole number, or "none"');
  change.action(
    printed(context.io, (user: string, instance: string, options: { role?: string; localId?: string }) => {
      if (options.role === undefined && options.localId === undefined) usageError(change, 'give --role, --local-id or both');
      return context.withServices(async ({ accounts, instances, accessOperations }) => {
        const [account, target] = await Promise.all([accountNamed(accounts, user), instanceNamed(instances, instance)]);
        const link = await accessOperations.change(
          target.id,
          account.id,
          {
            ...(options.role === undefined ? {} : { role: options.role as InstanceRole }),
            ...(options.localId === undefined ? {} : { localUserId: localId(options.localId) }),
          },
          OPERATOR,
        );
        return { json: { access: link }, lines: [`"${account.username}" on "${target.name}": ${link.role}, local id ${link.localUserId ?? 'none'}.`] };
      });
    }),
  );

  access
    .command('revoke')
    .description('Take an account\'s access to an instance away: it is signed out of that instance (back-channel logout).')
    .argument('<user>', 'id or username')
    .argument('<instance>', 'id or client id')
    .action(
      printed(context.io, (user: string, instance: string) =>
        context.withServices(async ({ accounts, instances, accessOperations }) => {
          const [account, target] = await Promise.all([accountNamed(accounts, user), instanceNamed(instances, instance)]);
          await accessOperations.revoke(target.id, account.id, OPERATOR);
          return { json: { revoked: { instanceId: target.id, accountId: account.id } }, lines: [`"${account.username}" may no longer use "${target.name}".`] };
        }),
      ),
    );

  const list = access
    .command('list')
    .description('List the access of one account (--user) or to one instance (--instance).')
    .option('--user <user>', 'id or username')
    .option('--instance <instance>', 'id or client id')
    .option('--limit <n>', `links per page, 1 to ${MAX_ACCOUNT_PAGE}`, pageSize(MAX_ACCOUNT_PAGE), DEFAULT_ACCOUNT_PAGE)
    .option('--cursor <cursor>', 'the page after the one that printed it ("More: --cursor ...")');
  list.action(
    printed(context.io, (options: { user?: string; instance?: string; limit: number; cursor?: string }): Promise<Output> => {
      if ((options.user === undefined) === (options.instance === undefined)) usageError(list, 'give exactly one of --user, --instance');
      return context.withStores(async ({ accounts, instances }) => {
        const page = { limit: options.limit + 1, after: options.cursor === undefined ? undefined : decodeKeyCursor(options.cursor) };
        const where = options.user
          ? { accountId: (await accountNamed(accounts, options.user)).id }
          : { instanceId: (await instanceNamed(instances, options.instance as string)).id };
        const found = await instances.listAccess(where, page);
        const { rows, nextCursor } = keyPage(found, options.limit, (link) => ('accountId' in where ? link.instanceId : link.accountId));
        const named = await namedAccess(accounts, instances, rows);
        const lines = accessLines(named);
        if (nextCursor) lines.push(`More: --cursor ${nextCursor}`);
        return { json: { access: named, nextCursor }, lines };
      });
    }),
  );
}
