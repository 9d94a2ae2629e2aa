// `chillfi3-auth sessions ...`: an account's single sign-on sessions, listed and ended.
import type { Command } from 'commander';
import { type CliContext, OPERATOR } from './context.js';
import { accountNamed } from './lookups.js';
import { printed, table, usageError } from './output.js';

function when(epochSeconds: number | null): string {
  return epochSeconds === null ? '' : new Date(epochSeconds * 1000).toISOString();
}

export function addSessionsCommand(program: Command, context: CliContext): void {
  const sessions = program.command('sessions').description("An account's single sign-on sessions.");

  sessions
    .command('list')
    .description('List the sessions of an account and the instances signed in through each.')
    .argument('<user>', 'id or username')
    .action(
      printed(context.io, (user: string) =>
        context.withServices(async ({ accounts, accountSessions }) => {
          const account = await accountNamed(accounts, user);
          const list = await accountSessions.list(account.id);
          const lines =
            list.length === 0
              ? [`"${account.username}" has no sessions.`]
              : table(
                  ['SESSION', 'SIGNED IN', 'EXPIRES', 'INSTANCES'],
                  list.map((session) => [session.uid, when(session.signedInAt), when(session.expiresAt), session.clientIds.join(', ')]),
                );
          return { json: { sessions: list }, lines };
        }),
      ),
    );

  const end = sessions
    .command('end')
    .description('End one session of an account (--session) or all of them (--all): back-channel logout to every instance of each.')
    .argument('<user>', 'id or username')
    .option('--session <uid>', 'the session, as `sessions list` shows it')
    .option('--all', 'every session and grant of the account');
  end.action(
    printed(context.io, (user: string, options: { session?: string; all?: boolean }) => {
      if ((options.session === undefined) === (options.all === undefined)) usageError(end, 'give exactly one of --session, --all');
      return context.withServices(async ({ accounts, accountOperations }) => {
        const account = await accountNamed(accounts, user);
        const which = options.all ? 'all' : { uid: options.session as string };
        const ended = await accountOperations.endSessions(account.id, which, OPERATOR);
        return { json: { ended }, lines: [`Ended ${ended.sessions} session(s) and ${ended.grants} grant(s) of "${account.username}".`] };
      });
    }),
  );
}
