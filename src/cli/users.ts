// `chillfi3-auth users ...`: accounts, from a shell.
import type { Command } from 'commander';
import type { Account } from '../accounts/account-entity.js';
import { BadRequest } from '../errors.js';
import type { CliContext, CliIo } from './context.js';
import { printed, table, usageError, yesNo, type Output } from './output.js';

/** ChillFi3's documented minimum password length. */
const MIN_PASSWORD_LENGTH = 8;
const PASSWORD_FLAGS = ['password', 'password-stdin', 'no-password'];

interface AddUserOptions {
  username: string;
  /** The --password value, or false for --no-password. */
  password?: string | false;
  passwordStdin?: boolean;
  admin?: boolean;
  displayName?: string;
  email?: string;
}

export function addUsersCommand(program: Command, context: CliContext): void {
  const users = program.command('users').description('Accounts.');

  const add = users
    .command('add')
    .summary('Create an account.')
    .description(
      `Create an account. Give exactly one of --password, --password-stdin, --no-password; passwords need at least ` +
        `${MIN_PASSWORD_LENGTH} characters.`,
    )
    .requiredOption('--username <name>', 'the sign-in name, unique whatever its case')
    .option('--password <password>', 'the password (it shows in process listings and shell history: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--no-password', 'no password: the account cannot sign in until a password is set for it')
    .option('--admin', 'make the account an administrator of the auth server')
    .option('--display-name <name>', 'the name shown to people')
    .option('--email <address>', 'the e-mail address');
  const passwordFlags = flagsGiven(add, PASSWORD_FLAGS);
  add.action(
    printed(context.io, async (options: AddUserOptions) => {
      if (passwordFlags.length !== 1) usageError(add, 'give exactly one of --password, --password-stdin, --no-password');
      return addUser(context, options, await passwordFrom(options, context.io));
    }),
  );

  users
    .command('list')
    .description('List accounts: id, username, display name, email, admin, disabled, last login.')
    .action(printed(context.io, () => listUsers(context)));
}

async function addUser(context: CliContext, options: AddUserOptions, password: string | null): Promise<Output> {
  return context.withStores(async ({ accounts, hasher }) => {
    const account = await accounts.create({
      username: options.username,
      passwordHash: password === null ? null : await hasher.hash(password),
      displayName: options.displayName,
      email: options.email,
      isAdmin: options.admin === true,
    });
    const lines = [`Created user "${account.username}" (id ${account.id})${account.isAdmin ? ' as an administrator' : ''}.`];
    if (password === null) lines.push('It has no password: it cannot sign in until a password is set for it.');
    return { json: { user: accountView(account), hasPassword: password !== null }, lines };
  });
}

async function listUsers(context: CliContext): Promise<Output> {
  return context.withStores(async ({ accounts }) => {
    const users = (await accounts.list()).map(accountView);
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
    return { json: { users }, lines };
  });
}

/**
 * The flags of `names` given on the command line, filled in as it is parsed. Commander folds --no-password into the
 * value of --password (the last one wins), so the flags are counted as they come to refuse two password sources.
 */
function flagsGiven(command: Command, names: string[]): string[] {
  const given: string[] = [];
  for (const name of names) command.on(`option:${name}`, () => given.push(`--${name}`));
  return given;
}

/** The password from --password or --password-stdin, null for --no-password. */
async function passwordFrom(options: AddUserOptions, io: CliIo): Promise<string | null> {
  if (options.password === false) return null;
  const password = options.passwordStdin === true ? await readFirstLine(io.stdin) : (options.password ?? '');
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new BadRequest(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  return password;
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
