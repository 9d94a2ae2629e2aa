#!/usr/bin/env node
// The `chillfi3-auth` command: migrations, accounts and instances, from a shell. It reads the same configuration as
// the server (config/index.ts), opens the stores through src/stores.ts, and maps errors to exit codes once, in
// runCli: 0 ok, 1 a refused operation (AppError) or a failure, 2 a usage error, 78 a bad configuration (EX_CONFIG).
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import type { Account } from './accounts/account-entity.js';
import { AppError, BadRequest } from './errors.js';
import type { Instance, TokenAuthMethod } from './instances/instance-entity.js';
import { schemaModeFor } from './db/data-source.js';
import { openStores, type Stores } from './stores.js';

/** Where the command reads and writes: the process's own streams, or captured ones in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: AsyncIterable<string | Uint8Array>;
  env: NodeJS.ProcessEnv;
}

/** ChillFi3's documented minimum password length. */
export const MIN_PASSWORD_LENGTH = 8;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_CONFIG = 78;

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a command prints: `json` with --json, otherwise `lines`. */
interface Output {
  json: unknown;
  lines: string[];
}

interface CommandContext {
  values: Values;
  io: CliIo;
  /** Loads the configuration on first use, so `help` and usage errors never depend on it. */
  config(): Config;
}

interface Command {
  /** Synopsis lines, without the program name. */
  synopsis: string[];
  summary: string;
  options: Options;
  run(context: CommandContext): Promise<Output>;
}

/** A command line that does not parse: exit 2 with the usage of `command` (or of everything). */
class UsageError extends Error {
  override name = 'UsageError';

  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

const COMMON_OPTIONS: Options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMANDS: Record<string, Command> = {
  migrate: {
    synopsis: ['migrate'],
    summary: 'Run the pending database migrations and list them.',
    options: {},
    run: migrate,
  },
  'users add': {
    synopsis: [
      'users add --username U (--password P | --password-stdin | --no-password)',
      '          [--admin] [--display-name N] [--email E]',
    ],
    summary:
      `Create an account. Passwords need at least ${MIN_PASSWORD_LENGTH} characters. --password-stdin reads the ` +
      'first line of stdin (prefer it: --password shows in process listings and shell history). --no-password ' +
      'creates an account that cannot sign in until a password is set for it.',
    options: {
      username: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'no-password': { type: 'boolean' },
      admin: { type: 'boolean' },
      'display-name': { type: 'string' },
      email: { type: 'string' },
    },
    run: addUser,
  },
  'users list': {
    synopsis: ['users list'],
    summary: 'List accounts: id, username, display name, email, admin, disabled, last login.',
    options: {},
    run: listUsers,
  },
  'instances add': {
    synopsis: [
      'instances add --name N --redirect-uri URI... [--post-logout-redirect-uri URI...]',
      '              [--backchannel-logout-uri URI] [--grant-types a,b] [--auth-method M] [--skip-consent]',
      '              [--ip-allow CIDR...] [--rate-limit N]',
    ],
    summary:
      'Register a ChillFi3 instance (an OIDC client). URI flags repeat; grant types are comma separated ' +
      '(authorization_code, refresh_token, client_credentials; default authorization_code,refresh_token); auth ' +
      'methods: client_secret_basic (default), client_secret_post, client_secret_jwt, none. --ip-allow (repeats) ' +
      'limits the addresses the instance may call the token, introspection and revocation endpoints from; ' +
      '--rate-limit caps its requests there per minute. Prints the client secret once: store it then.',
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'backchannel-logout-uri': { type: 'string' },
      'grant-types': { type: 'string' },
      'auth-method': { type: 'string' },
      'skip-consent': { type: 'boolean' },
      'ip-allow': { type: 'string', multiple: true },
      'rate-limit': { type: 'string' },
    },
    run: addInstance,
  },
  'instances list': {
    synopsis: ['instances list'],
    summary: 'List instances: id, name, client_id, grant types, redirect URIs, auth method, skip consent. No secrets.',
    options: {},
    run: listInstances,
  },
  help: {
    synopsis: ['help'],
    summary: 'Show this help (also: --help, -h, or <command> --help).',
    options: {},
    run: help,
  },
};

/** Runs one command line; resolves to the exit code. Never throws for expected errors. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const { name, command, args } = findCommand(argv);
    const values = parseOptions(name, command, args);
    if (values.help === true) {
      io.stdout.write(`${usage(name)}\n`);
      return EXIT_OK;
    }
    let config: Config | undefined;
    const output = await command.run({ values, io, config: () => (config ??= loadConfig(io.env)) });
    io.stdout.write(values.json === true ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.lines.join('\n')}\n`);
    return EXIT_OK;
  } catch (error) {
    return report(error, io);
  }
}

/** Prints an error the way its kind deserves and picks the exit code. */
function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr.write(`error: ${error.message}\n\n${error.command ? usage(error.command) : shortUsage()}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT_CONFIG;
  }
  if (error instanceof AppError) {
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  // Operational failures (database unreachable, bad credentials, unwritable folder) carry a code: no stack for them.
  const message = describe(error);
  const code = (error as { code?: unknown } | null)?.code;
  const stack = typeof code === 'string' || !(error instanceof Error) ? '' : `\n${error.stack ?? ''}`;
  io.stderr.write(`error: ${message}${stack}\n`);
  return EXIT_FAILURE;
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(describe).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function findCommand(argv: string[]): { name: string; command: Command; args: string[] } {
  const [first, second] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (first === '--help' || first === '-h') return { name: 'help', command: COMMANDS.help!, args: argv.slice(1) };
  const pair = `${first} ${second ?? ''}`;
  const paired = COMMANDS[pair];
  if (paired) return { name: pair, command: paired, args: argv.slice(2) };
  const single = COMMANDS[first];
  if (single && !first.includes(' ')) return { name: first, command: single, args: argv.slice(1) };
  const subcommands = Object.keys(COMMANDS)
    .filter((name) => name.startsWith(`${first} `))
    .map((name) => name.slice(first.length + 1));
  if (subcommands.length > 0) {
    const given = second === undefined || second.startsWith('-') ? 'needs a subcommand' : `has no subcommand "${second}"`;
    throw new UsageError(`"${first}" ${given}: ${subcommands.join(', ')}`);
  }
  throw new UsageError(`unknown command "${first}"`);
}

function parseOptions(name: string, command: Command, args: string[]): Values {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...command.options }, strict: true, allowPositionals: false })
      .values as Values;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(describe(error), name);
    throw error;
  }
}

/** What a usage error without a command prints: the command names and where the rest is. */
function shortUsage(): string {
  return [
    'Usage: chillfi3-auth <command> [options]',
    `Commands: ${Object.keys(COMMANDS).join(', ')}`,
    'Run "chillfi3-auth help" for the options of every command.',
  ].join('\n');
}

/** The whole usage text, or the usage of one command. */
function usage(name?: string): string {
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command && name !== 'help') {
    return [
      `Usage: chillfi3-auth ${command.synopsis.join(`\n${' '.repeat('Usage: chillfi3-auth '.length)}`)} [--json]`,
      '',
      ...wrap(command.summary, '  '),
    ].join('\n');
  }
  const lines = ['Usage: chillfi3-auth <command> [options]', '', 'Commands:'];
  for (const entry of Object.values(COMMANDS)) {
    lines.push(...entry.synopsis.map((line) => `  ${line}`), ...wrap(entry.summary, '      '), '');
  }
  lines.push(
    'Every command takes --json (one JSON document on stdout) and --help.',
    'Configuration comes from the same environment as the server: AUTH_DATABASE_URL or AUTH_DB_* for PostgreSQL',
    '(run "migrate" first), otherwise the embedded SQLite file in AUTH_DATA_DIR (migrated automatically);',
    'AUTH_SECRET_KEY seals client secrets (required with PostgreSQL; unset on SQLite, the one generated beside the',
    'database is used), AUTH_ISSUER is the URL instances use.',
    'Exit codes: 0 ok, 1 refused or failed, 2 usage error, 78 invalid configuration.',
  );
  return lines.join('\n');
}

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(' ')) {
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.length > indent.length ? ` ${word}` : word;
  }
  lines.push(line);
  return lines;
}

// ---- commands ----------------------------------------------------------------------------------------------------

async function migrate({ config }: CommandContext): Promise<Output> {
  const { database } = config();
  const stores = await openStores(config(), { schema: 'as-is' });
  try {
    const ran = (await stores.dataSource.runMigrations()).map((migration) => migration.name);
    const where = database.type === 'sqlite' ? `SQLite (${database.file})` : 'PostgreSQL';
    const lines =
      ran.length === 0
        ? [`${where}: up to date, no migrations to run.`]
        : [`${where}: ran ${ran.length} migration${ran.length === 1 ? '' : 's'}:`, ...ran.map((name) => `  ${name}`)];
    return { json: { database: database.type, migrations: ran }, lines };
  } finally {
    await stores.close();
  }
}

async function addUser({ values, io, config }: CommandContext): Promise<Output> {
  const username = requiredString(values, 'username', 'users add');
  const password = await passwordFrom(values, io);
  return withStores(config(), async ({ accounts, hasher }) => {
    const account = await accounts.create({
      username,
      passwordHash: password === null ? null : await hasher.hash(password),
      displayName: optionalString(values, 'display-name'),
      email: optionalString(values, 'email'),
      isAdmin: values.admin === true,
    });
    const lines = [`Created user "${account.username}" (id ${account.id})${account.isAdmin ? ' as an administrator' : ''}.`];
    if (password === null) lines.push('It has no password: it cannot sign in until a password is set for it.');
    return { json: { user: accountView(account), hasPassword: password !== null }, lines };
  });
}

async function listUsers({ config }: CommandContext): Promise<Output> {
  return withStores(config(), async ({ accounts }) => {
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

async function addInstance({ values, config }: CommandContext): Promise<Output> {
  const name = requiredString(values, 'name', 'instances add');
  const issuer = config().issuer;
  return withStores(config(), async ({ instances }) => {
    const { instance, clientSecret } = await instances.create({
      name,
      redirectUris: stringList(values, 'redirect-uri'),
      postLogoutRedirectUris: stringList(values, 'post-logout-redirect-uri'),
      backchannelLogoutUri: optionalString(values, 'backchannel-logout-uri'),
      grantTypes: optionalString(values, 'grant-types')
        ?.split(',')
        .map((grantType) => grantType.trim())
        .filter(Boolean),
      tokenEndpointAuthMethod: optionalString(values, 'auth-method') as TokenAuthMethod | undefined,
      skipConsent: values['skip-consent'] === true,
      ipAllowlist: stringList(values, 'ip-allow'),
      rateLimit: optionalInteger(values, 'rate-limit'),
    });
    const lines = [
      `Registered instance "${instance.name}" (id ${instance.id}).`,
      `  client_id:     ${instance.clientId}`,
      `  client_secret: ${clientSecret ?? '(none: public client)'}`,
      '',
    ];
    if (clientSecret !== null) {
      lines.push('Store the client secret now: it is shown only this once and cannot be read back.');
    }
    lines.push(
      "Set these in the ChillFi3 instance's environment:",
      `  AUTH_SERVER_URL=${issuer}`,
      `  AUTH_API_KEY=${instance.clientId}`,
      ...(clientSecret === null ? [] : [`  AUTH_API_SECRET=${clientSecret}`]),
    );
    return { json: { instance: instanceView(instance), clientSecret, authServerUrl: issuer }, lines };
  });
}

async function listInstances({ config }: CommandContext): Promise<Output> {
  return withStores(config(), async ({ instances }) => {
    const views = (await instances.list()).map(instanceView);
    const lines =
      views.length === 0
        ? ['No instances.']
        : table(
            ['ID', 'NAME', 'CLIENT_ID', 'GRANT TYPES', 'REDIRECT URIS', 'AUTH METHOD', 'SKIP CONSENT'],
            views.map((instance) => [
              instance.id,
              instance.name,
              instance.clientId,
              instance.grantTypes.join(','),
              instance.redirectUris.join(' '),
              instance.tokenEndpointAuthMethod,
              yesNo(instance.skipConsent),
            ]),
          );
    return { json: { instances: views }, lines };
  });
}

async function help(): Promise<Output> {
  const commands = Object.entries(COMMANDS).map(([name, command]) => ({
    command: name,
    usage: command.synopsis.map((line) => line.trim()).join(' '),
    summary: command.summary,
  }));
  return { json: { commands }, lines: [usage()] };
}

// ---- shared helpers ----------------------------------------------------------------------------------------------

/**
 * Opens the stores for one command and closes them after. The embedded SQLite file is migrated on the spot, as the
 * server does; a PostgreSQL database must have been migrated with `chillfi3-auth migrate`.
 */
async function withStores<T>(config: Config, work: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores(config, { schema: schemaModeFor(config.database) });
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** The password from exactly one of --password, --password-stdin, --no-password (null for the last). */
async function passwordFrom(values: Values, io: CliIo): Promise<string | null> {
  const sources = ['password', 'password-stdin', 'no-password'].filter((source) => values[source] !== undefined);
  if (sources.length !== 1) {
    throw new UsageError('give exactly one of --password, --password-stdin, --no-password', 'users add');
  }
  if (values['no-password'] === true) return null;
  const password = values['password-stdin'] === true ? await readFirstLine(io.stdin) : String(values.password);
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

function requiredString(values: Values, name: string, command: string): string {
  const value = optionalString(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`, command);
  return value;
}

function optionalString(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function optionalInteger(values: Values, name: string): number | null {
  const text = optionalString(values, name);
  if (text === undefined) return null;
  if (!/^\d+$/.test(text)) throw new BadRequest(`--${name} must be a whole number`);
  return Number(text);
}

function stringList(values: Values, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
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

/** What the CLI shows of an instance: never a secret, sealed or not. */
function instanceView(instance: Instance) {
  return {
    id: instance.id,
    name: instance.name,
    clientId: instance.clientId,
    grantTypes: instance.grantTypes,
    redirectUris: instance.redirectUris,
    postLogoutRedirectUris: instance.postLogoutRedirectUris,
    backchannelLogoutUri: instance.backchannelLogoutUri,
    tokenEndpointAuthMethod: instance.tokenEndpointAuthMethod,
    skipConsent: instance.skipConsent,
    accessPolicy: instance.accessPolicy,
    ipAllowlist: instance.ipAllowlist,
    rateLimit: instance.rateLimit,
    createdAt: instance.createdAt,
  };
}

function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)];
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

// ---- bin entry ---------------------------------------------------------------------------------------------------

/** True when this file is the program being run (npm's bin is a symlink to it), not an import. */
function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // stdin is only opened when a command reads it (--password-stdin).
  const stdin: AsyncIterable<string | Uint8Array> = { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() };
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin, env: process.env };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
