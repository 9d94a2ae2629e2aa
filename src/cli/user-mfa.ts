// `chillfi3-auth users mfa list|reset <user>`: an account's second factors from a shell. Never a secret: what kind,
// what name, when added and last used, how many recovery codes are left. A reset removes them all and ends the
// account's sessions (audited as mfa.reset), for a user who lost their phone and their codes.
import type { Command } from 'commander';
import { secondFactorListView } from '../admin/admin-api-schemas.js';
import { type CliContext, OPERATOR } from './context.js';
import { accountNamed } from './lookups.js';
import { printed, table } from './output.js';

export function addUserMfaCommands(users: Command, context: CliContext): void {
  const mfa = users.command('mfa').description("An account's second factors (authenticator apps, passkeys, recovery codes).");

  mfa
    .command('list')
    .description("List an account's second factors and how many recovery codes it has left. No secrets.")
    .argument('<user>', 'id or username')
    .action(
      printed(context.io, (user: string) =>
        context.withServices(async ({ accounts, mfaOperations }) => {
          const account = await accountNamed(accounts, user);
          const view = secondFactorListView(await mfaOperations.list(account.id));
          const rows = view.factors.map((factor) => [factor.kind, factor.name, factor.createdAt, factor.lastUsedAt ?? '-', factor.id]);
          const lines =
            view.factors.length === 0
              ? [`"${account.username}" has no second factor.`]
              : table(['KIND', 'NAME', 'ADDED', 'LAST USED', 'ID'], rows);
          return { json: { user: account.username, ...view }, lines: [...lines, `Recovery codes left: ${view.recoveryCodesLeft}`] };
        }),
      ),
    );

  mfa
    .command('reset')
    .description("Remove every second factor and recovery code of an account and end its sessions; it signs in with its password again.")
    .argument('<user>', 'id or username')
    .action(
      printed(context.io, (user: string) =>
        context.withServices(async ({ accounts, mfaOperations }) => {
          const account = await accountNamed(accounts, user);
          const result = await mfaOperations.reset(account.id, OPERATOR);
          return {
            json: { user: account.username, ...result },
            lines: [`Reset "${account.username}": ${result.removed} second factor(s) removed, ${result.sessions} session(s) ended.`],
          };
        }),
      ),
    );
}
