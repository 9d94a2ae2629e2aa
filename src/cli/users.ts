// `chillfi3-auth users ...`: accounts, from a shell.
import type { Command } from 'commander';
import type { Account } from '../accounts/account-entity.js';
import { type AccountStore, DEFAULT_ACCOUNT_PAGE, LastAdmin, type LastAdminRule, MAX_ACCOUNT_PAGE } from '../accounts/account-store.js';
import type { AccountOperations, MailedPasswordLink, PasswordLinkView } from '../admin/account-operations.js';
import { decodeKeyCursor, keyPage } from '../db/key-cursor.js';
import { type CliContext, OPERATOR } from './context.js';
import { accountNamed, namedAccess, type NamedAccess } from './lookups.js';
import { addUserMfaCommands } from './user-mfa.js';
import { pageSize, printed, table, usageError, yesNo, type Output } from './output.js';

// Passwords never come from the command line, where process listings and shell history show them: from stdin only.
interface AddUserOptions {
  username: string;
  /** False for --no-password. */
  password: boolean;
  passwordStdin?: boolean;
  admin?: boolean;
  displayName?: string;
  email?: string;
  /** --mail: the set-password link goes to the account's address instead of being printed. */
  mail?: boolean;
}

const MAIL_HELP = "mail the set-password link to the account's e-mail address instead of printing it (needs SMTP_URL)";

export function addUsersCommand(program: Command, context: CliContext): void {
  const users = program.command('users').description('Accounts.');

  const add = users
    .command('add')
    .summary('Create an account.')
    .description(
      'Create an account. Give exactly one of --password-stdin, --no-password; passwords need at least ' +
        'PASSWORD_MIN_LENGTH characters (8 by default). Without a password it prints a set-password link, once.',
    )
    .requiredOption('--username <name>', 'the sign-in name: letters, digits and . _ - @; unique whatever its case or look-alike forms')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--no-password', 'no password: the account cannot sign in until a password is set for it')
    .option('--admin', 'make the account an administrator of the auth server')
    .option('--display-name <name>', 'the name shown to people')
    .option('--email <address>', 'the e-mail address')
    .option('--mail', `with --no-password: ${MAIL_HELP}`);
  add.action(
    printed(context.io, async (options: AddUserOptions) => {
      if ((options.passwordStdin === true) === (options.password === false)) usageError(add, 'give exactly one of --password-stdin, --no-password');
      if (options.mail === true && options.password !== false) usageError(add, '--mail goes with --no-password');
      return addUser(context, options, options.passwordStdin === true ? await readFirstLine(context.io.stdin) : null);
    }),
  );

  users
    .command('show')
    .description('Show one account, its access to instances and its sessions.')
    .argument('<user>', 'id or username')
    .action(printed(context.io, (user: string) => showUser(context, user)));

  const setPassword = users
    .command('set-password')
    .description('Set the password of an account, read from stdin: it is unlocked and signed out everywhere.')
    .argument('<user>', 'id or username')
    .option('--password-stdin', 'read the password from the first line of stdin (required)');
  setPassword.action(
    printed(context.io, async (user: string, options: { passwordStdin?: boolean }) => {
      if (options.passwordStdin !== true) usageError(setPassword, 'give --password-stdin and the password on stdin');
      const password = await readFirstLine(context.io.stdin);
      return context.withServices(async ({ accounts, accountOperations }) => {
        const account = await accounts.get((await accountNamed(accounts, user)).id);
        await accountOperations.setPassword(account.id, password, OPERATOR);
        return { json: { user: accountView(account) }, lines: [`Set the password of "${account.username}"; it is signed out everywhere.`] };
      });
    }),
  );

  users
    .command('reset-password')
    .description('Clear the password of an account and print a single-use set-password link for its owner, once.')
    .argument('<user>', 'id or username')
    .option('--mail', MAIL_HELP)
    .action(
      printed(context.io, (user: string, options: { mail?: boolean }) =>
        context.withServices(async ({ accounts, accountOperations }) => {
          const account = await accountNamed(accounts, user);
          const cleared = `Cleared the password of "${account.username}"; it is signed out everywhere.`;
          if (options.mail === true) return mailedLinkOutput(account, await accountOperations.clearPasswordAndMailLink(account.id, OPERATOR), cleared);
          return passwordLinkOutput(account, await accountOperations.clearPassword(account.id, OPERATOR), cleared);
        }),
      ),
    );

  users
    .command('password-link')
    .description('Print a fresh single-use set-password link for an account, once (older links stop working).')
    .argument('<user>', 'id or username')
    .option('--mail', MAIL_HELP)
    .action(
      printed(context.io, (user: string, options: { mail?: boolean }) =>
        context.withServices(async ({ accounts, accountOperations }) => {
          const account = await accountNamed(accounts, user);
          const headline = `A set-password link for "${account.username}".`;
          if (options.mail === true) return mailedLinkOutput(account, await accountOperations.mailPasswordLink(account.id, OPERATOR), headline);
          return passwordLinkOutput(account, await accountOperations.issuePasswordLink(account.id, OPERATOR), headline);
        }),
      ),
    );

  // Each change, and whether it may take away the last enabled admin (then only with --force).
  const changes: [string, string, (operations: AccountOperations, id: string, rule: LastAdminRule) => Promise<Account>, string, boolean][] = [
    ['make-admin', 'Make an account an administrator of the auth server.', (ops, id) => ops.setAdmin(id, true, OPERATOR), 'is an administrator now', false],
    ['revoke-admin', 'Make an account no longer an administrator.', (ops, id, rule) => ops.setAdmin(id, false, OPERATOR, rule), 'is no longer an administrator', true],
    ['disable', 'Disable an account: it is signed out everywhere and cannot sign in.', (ops, id, rule) => ops.disable(id, OPERATOR, rule), 'is disabled and signed out everywhere', true],
    ['enable', 'Enable a disabled account.', (ops, id) => ops.enable(id, OPERATOR), 'is enabled', false],
    ['unlock', 'Lift the lockout of an account after failed sign-ins.', (ops, id) => ops.unlock(id, OPERATOR), 'is unlocked', false],
  ];
  for (const [name, description, change, done, takesAdminAway] of changes) {
    const command = users.command(name).description(description).argument('<user>', 'id or username');
    if (takesAdminAway) command.option('--force', FORCE_HELP);
    command.action(
      printed(context.io, (user: string, options: LastAdminRule) =>
        context.withServices(async ({ accounts, accountOperations }) => {
          const named = await accountNamed(accounts, user);
          const warnings = takesAdminAway ? await lastAdminWarnings(accounts, named, options) : [];
          const account = await change(accountOperations, named.id, { force: options.force === true });
          return { json: { user: accountView(account) }, lines: [`"${account.username}" ${done}.`], warnings };
        }),
      ),
    );
  }

  users
    .command('delete')
    .description('Delete an account: it is signed out everywhere first (back-channel logout to its instances).')
    .argument('<user>', 'id or username')
    .option('--force', FORCE_HELP)
    .action(
      printed(context.io, (user: string, options: LastAdminRule) =>
        context.withServices(async ({ accounts, accountOperations }) => {
          const account = await accountNamed(accounts, user);
          const warnings = await lastAdminWarnings(accounts, account, options);
          await accountOperations.delete(account.id, OPERATOR, { force: options.force === true });
          return { json: { deleted: accountView(account) }, lines: [`Deleted "${account.username}" (id ${account.id}).`], warnings };
        }),
      ),
    );

  addUserMfaCommands(users, context);

  users
    .command('list')
    .description('List accounts: id, username, display name, email, admin, disabled, last login.')
    .option('--search <text>', 'only accounts whose username, display name or email starts with it (any case)')
    .option('--limit <n>', `accounts per page, 1 to ${MAX_ACCOUNT_PAGE}`, pageSize(MAX_ACCOUNT_PAGE), DEFAULT_ACCOUNT_PAGE)
    .option('--cursor <cursor>', 'the page after the one that printed it ("More: --cursor ...")')
    .action(printed(context.io, (options: UserListOptions) => listUsers(context, options)));
}

const FORCE_HELP = 'go ahead even if it is the last enabled admin, leaving the server without one';

/**
 * Refuses to take away the last enabled admin without --force; with it, the warning to print. First run does not open
 * again on a server that has had an admin: the shell is the way back.
 */
async function lastAdminWarnings(accounts: AccountStore, account: Account, { force }: LastAdminRule): Promise<string[]> {
  if (!(await accounts.isLastAdmin(account.id))) return [];
  if (force !== true) throw new LastAdmin(account.username, 'make another account an admin first, or give --force');
  return [
    `"${account.username}" was the last enabled admin: this server has none now, and its first-run page does not open ` +
      'again. Make one with "chillfi3-auth users make-admin <user>" or "chillfi3-auth users add --admin".',
  ];
}

async function addUser(context: CliContext, options: AddUserOptions, password: string | null): Promise<Output> {
  return context.withServices(async ({ accountOperations }) => {
    const { account, passwordLink: link, mailedLink } = await accountOperations.create(
      { username: options.username, password, displayName: options.displayName, email: options.email, isAdmin: options.admin === true },
      OPERATOR,
      { mail: options.mail === true },
    );
    const created = `Created user "${account.username}" (id ${account.id})${account.isAdmin ? ' as an administrator' : ''}.`;
    const noPassword = `${created} It has no password: it cannot sign in until one is set.`;
    if (mailedLink) {
      const output = mailedLinkOutput(account, mailedLink, noPassword);
      return { json: { ...(output.json as object), hasPassword: false }, lines: output.lines };
    }
    if (link === null) return { json: { user: accountView(account), hasPassword: true }, lines: [created] };
    const output = passwordLinkOutput(account, link, noPassword);
    return { json: { ...(output.json as object), hasPassword: false }, lines: output.lines };
  });
}

/** A set-password link, printed once: the only place its secret ever appears. */
function passwordLinkOutput(account: Account, link: PasswordLinkView, headline: string): Output {
  return {
    json: { user: accountView(account), passwordLink: { url: link.url, expiresAt: link.expiresAt } },
    lines: [
      headline,
      `Give its owner this link to set a password (single use, until ${link.expiresAt.toISOString()}); it is not shown again:`,
      link.url,
    ],
  };
}

/** A set-password link mailed to the owner: where it went and until when it works (the link itself is not shown). */
function mailedLinkOutput(account: Account, link: MailedPasswordLink, headline: string): Output {
  return {
    json: { user: accountView(account), passwordLinkMailed: { to: link.mailedTo, expiresAt: link.expiresAt } },
    lines: [headline, `Mailed a set-password link to ${link.mailedTo} (single use, until ${link.expiresAt.toISOString()}).`],
  };
}

async function showUser(context: CliContext, user: string): Promise<Output> {
  return context.withServices(async ({ accounts, instances, accessOperations, accountSessions }) => {
    const account = await accountNamed(accounts, user);
    const [hasPassword, links, sessions] = await Promise.all([
      accounts.hasPassword(account.id),
      accessOperations.list({ accountId: account.id }),
      accountSessions.list(account.id),
    ]);
    const access = await namedAccess(accounts, instances, links);
    const locked = account.lockedUntil !== null && account.lockedUntil.getTime() > Date.now();
    const view = { ...accountView(account), hasPassword, lockedUntil: locked ? account.lockedUntil : null };
    const lines = [
      `${account.username} (id ${account.id})`,
      `  display name  ${account.displayName ?? ''}`,
      `  email         ${account.email ?? ''}`,
      `  admin         ${yesNo(account.isAdmin)}`,
      `  disabled      ${yesNo(account.disabled)}`,
      `  password      ${hasPassword ? 'set' : 'not set: cannot sign in'}`,
      `  locked        ${locked ? `until ${account.lockedUntil?.toISOString()}` : 'no'}`,
      `  last login    ${account.lastLoginAt?.toISOString() ?? 'never'}`,
      `  access        ${access.length === 0 ? 'none' : access.map(accessFact).join(', ')}`,
      `  sessions      ${sessions.length}`,
    ];
    return { json: { user: view, access, sessions }, lines };
  });
}

/** `Living room (client id abc, member, local id 3)`; an instance gone meanwhile by its id. */
function accessFact(link: NamedAccess): string {
  const localId = link.localUserId === null ? '' : `, local id ${link.localUserId}`;
  const named = link.instanceName === null ? `${link.instanceId} (deleted` : `${link.instanceName} (client id ${link.clientId}`;
  return `${named}, ${link.role}${localId})`;
}

interface UserListOptions {
  search?: string;
  limit: number;
  cursor?: string;
}

async function listUsers(context: CliContext, { search, limit, cursor }: UserListOptions): Promise<Output> {
  return context.withStores(async ({ accounts }) => {
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const { rows, nextCursor } = keyPage(await accounts.list({ search, limit: limit + 1, after }), limit, (account) => account.usernameKey);
    const users = rows.map(accountView);
    const lines =
      users.length === 0
        ? ['No users.']
        : table(
            ['ID', 'USERNAME', 'DISPLAY NAME', 'EMAIL', 'ADMIN', 'DISABLED', 'LAST LOGIN'],
            users.map((user) => [
              user.id,
              user.username,
              user.displayName ?? '',
              user.email ?? '',
              yesNo(user.isAdmin),
              yesNo(user.disabled),
              user.lastLoginAt?.toISOString() ?? 'never',
            ]),
          );
    if (nextCursor) lines.push(`More: --cursor ${nextCursor}`);
    return { json: { users, nextCursor }, lines };
  });
}

/** The first line of a stream, without its line ending. Stops reading at the first newline. */
async function readFirstLine(stream: AsyncIterable<string | Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const end = text.indexOf('\n');
    if (end !== -1) return text.slice(0, end).replace(/\r$/, '');
  }
  return (text + decoder.decode()).replace(/\r$/, '');
}

/** What the CLI shows of an account: never the password hash. */
function accountView(account: Account) {
  return {
    id: account.id,
    username: account.username,
    displayName: account.displayName,
    email: account.email,
    isAdmin: account.isAdmin,
    disabled: account.disabled,
    lastLoginAt: account.lastLoginAt,
    createdAt: account.createdAt,
  };
}
