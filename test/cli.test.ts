/**
 * The `chillfi3-auth` command, run in-process through runCli with captured output, on the embedded SQLite file and
 * on PostgreSQL; then once as a real subprocess (npx tsx src/cli.ts) to prove the bin wiring.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadConfig } from '../config/index.js';
import { InstanceEntity } from '../src/instances/instance-entity.js';
import { openStores } from '../src/stores.js';
import { cli, cliJson, FAST_ARGON2 } from './support/cli.js';
import { scratchPostgres, scratchSqlite, type ScratchDatabase } from './support/databases.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface UserView {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  isAdmin: boolean;
}

interface InstanceView {
  id: string;
  name: string;
  clientId: string;
  redirectUris: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: string;
  skipConsent: boolean;
  ipAllowlist: string[];
  rateLimit: number | null;
}

// SQLite runs on the secret the CLI generates beside the database on first use; PostgreSQL needs one set.
cliSuite('chillfi3-auth CLI on embedded SQLite', scratchSqlite, { migrateFirst: false });
cliSuite('chillfi3-auth CLI on PostgreSQL', scratchPostgres, { migrateFirst: true, secretKey: 's'.repeat(40) });

function cliSuite(
  title: string,
  scratch: () => Promise<ScratchDatabase>,
  { migrateFirst, secretKey }: { migrateFirst: boolean; secretKey?: string },
) {
  describe(title, () => {
    let database: ScratchDatabase;
    let env: Record<string, string>;

    before(async () => {
      database = await scratch();
      env = { ...database.env, ...(secretKey ? { AUTH_SECRET_KEY: secretKey } : {}) };
    });

    after(async () => {
      await database?.drop();
    });

    if (migrateFirst) {
      it('refuses to work on an unmigrated database, then migrate lists what ran, then nothing is left', async () => {
        const early = await cli(env, ['users', 'list']);
        expect(early.code, 'not usable until migrated').to.equal(69);
        expect(early.stderr).to.match(/^error: .*run "chillfi3-auth migrate" first\n$/);

        const first = await cliJson<{ database: string; migrations: string[] }>(env, ['migrate']);
        expect(first.database).to.equal('postgres');
        expect(first.migrations).to.have.length.greaterThan(0);
        const again = await cli(env, ['migrate']);
        expect(again.code).to.equal(0);
        expect(again.stdout).to.contain('up to date');
      });
    } else {
      it('migrates the embedded database on first use', async () => {
        const run = await cliJson<{ users: unknown[] }>(env, ['users', 'list']);
        expect(run.users).to.deep.equal([]);
        const migrate = await cli(env, ['migrate']);
        expect(migrate.code).to.equal(0);
        expect(migrate.stdout).to.contain('up to date');
      });
    }

    it('adds users with --password-stdin, and both passwords check', async () => {
      const alice = await cli(env, ['users', 'add', '--username', 'Alice', '--password-stdin', '--admin', '--email', 'alice@example.org'], 'correct horse\n');
      expect(alice.code, alice.stderr).to.equal(0);
      expect(alice.stdout).to.match(/Created user "Alice" \(id [0-9a-f-]{36}\) as an administrator/);

      const bob = await cliJson<{ user: UserView; hasPassword: boolean }>(
        env,
        ['users', 'add', '--username', 'bob', '--password-stdin', '--display-name', 'Bob B'],
        'battery staple\r\nsecond line ignored\n',
      );
      expect(bob.hasPassword).to.equal(true);
      expect(bob.user).to.include({ username: 'bob', displayName: 'Bob B', isAdmin: false });

      const stores = await openStores(loadConfig({ ...env, ...FAST_ARGON2 }), { schema: 'require-current' });
      try {
        const storedAlice = await stores.accounts.findForLogin('alice');
        const storedBob = await stores.accounts.findForLogin('BOB');
        expect(storedAlice?.passwordHash).to.match(/^\$argon2id\$/);
        expect((await stores.hasher.verify(storedAlice!.passwordHash!, 'correct horse')).valid).to.equal(true);
        expect((await stores.hasher.verify(storedBob!.passwordHash!, 'battery staple')).valid).to.equal(true);
      } finally {
        await stores.close();
      }
    });

    it('adds a user without a password with --no-password', async () => {
      const run = await cliJson<{ user: UserView; hasPassword: boolean; passwordLink: { url: string } }>(env, [
        'users', 'add', '--username', 'carol', '--no-password',
      ]);
      expect(run.hasPassword).to.equal(false);
      expect(run.passwordLink.url).to.match(/\/set-password\?token=[\w-]{43}$/);
      const text = await cli(env, ['users', 'add', '--username', 'dave', '--no-password']);
      expect(text.stdout).to.contain('cannot sign in until one is set').and.match(/\/set-password\?token=[\w-]{43}\n$/);
    });

    it('lists users in JSON without any password hash', async () => {
      const run = await cli(env, ['users', 'list', '--json']);
      expect(run.code).to.equal(0);
      const { users } = JSON.parse(run.stdout) as { users: UserView[] };
      expect(users.map((user) => user.username)).to.deep.equal(['Alice', 'bob', 'carol', 'dave']);
      expect(users[0]).to.include({ isAdmin: true, email: 'alice@example.org' });
      expect(run.stdout).not.to.match(/hash|argon2/i);
      for (const user of users) expect(Object.keys(user)).not.to.include('passwordHash');

      const table = await cli(env, ['users', 'list']);
      expect(table.stdout).to.match(/^ID\s+USERNAME\s+DISPLAY NAME\s+EMAIL\s+ADMIN\s+DISABLED\s+LAST LOGIN\n/);
      expect(table.stdout).to.contain('Bob B').and.not.match(/argon2/);
    });

    it('refuses a duplicate username whatever its case (conflict, 73), in JSON too', async () => {
      const run = await cli(env, ['users', 'add', '--username', 'ALICE', '--no-password']);
      expect(run.code).to.equal(73);
      expect(run.stderr).to.equal('error: username "ALICE" is taken (usernames that differ only in case or in look-alike forms are one)\n');
      expect(run.stdout).to.equal('');
      const json = await cli(env, ['users', 'add', '--username', 'ALICE', '--no-password', '--json']);
      expect(json.code).to.equal(73);
      expect(JSON.parse(json.stdout)).to.deep.equal({
        error: { code: 'conflict', message: 'username "ALICE" is taken (usernames that differ only in case or in look-alike forms are one)' },
      });
      expect(json.stderr).to.equal('');
    });

    it('exits 66 when the user or instance named does not exist, with a not_found document under --json', async () => {
      for (const argv of [['users', 'show', 'nobody'], ['instances', 'show', 'no-such-instance'], ['users', 'disable', 'nobody']]) {
        const run = await cli(env, argv);
        expect(run.code, argv.join(' ')).to.equal(66);
        expect(run.stderr).to.match(/^error: no (user|instance) "no/);
      }
      const json = await cli(env, ['--json', 'users', 'show', 'nobody']);
      expect(json.code).to.equal(66);
      expect(JSON.parse(json.stdout)).to.deep.equal({ error: { code: 'not_found', message: 'no user "nobody" (give an id or a username)' } });
      expect(json.stderr).to.equal('');
    });

    it('refuses a password shorter than 8 characters (invalid input, 65)', async () => {
      const run = await cli(env, ['users', 'add', '--username', 'erin', '--password-stdin'], 'seven77\n');
      expect(run.code, run.stderr).to.equal(65);
      expect(run.stderr).to.equal('error: the password must be at least 8 characters long\n');
      const empty = await cli(env, ['users', 'add', '--username', 'erin', '--password-stdin']);
      expect(empty.code).to.equal(65);
      const list = await cliJson<{ users: UserView[] }>(env, ['users', 'list']);
      expect(list.users.map((user) => user.username)).not.to.include('erin');
    });

    it('wants exactly one password source, never a password on the command line (usage error)', async () => {
      const none = await cli(env, ['users', 'add', '--username', 'frank']);
      expect(none.code).to.equal(2);
      expect(none.stderr).to.contain('give exactly one of --password-stdin, --no-password');
      expect(none.stderr).to.contain('Usage: chillfi3-auth users add');
      const two = await cli(env, ['users', 'add', '--username', 'frank', '--password-stdin', '--no-password'], 'long enough\n');
      expect(two.code).to.equal(2);
      for (const argv of [
        ['users', 'add', '--username', 'frank', '--password', 'long enough'],
        ['users', 'set-password', 'Alice', '--password', 'long enough'],
      ]) {
        const given = await cli(env, argv);
        expect(given.code, argv.join(' ')).to.equal(2);
        expect(given.stderr).to.match(/^error: unknown option '--password'\n/);
      }
      const help = await cliJson<{ commands: { command: string; options: { flags: string }[] }[] }>(env, ['help']);
      const flags = help.commands.flatMap((entry) => entry.options.map((option) => option.flags));
      expect(flags.filter((flag) => /^--password\b(?!-)/.test(flag))).to.deep.equal([]);
      const list = await cliJson<{ users: UserView[] }>(env, ['users', 'list']);
      expect(list.users.map((user) => user.username)).not.to.include('frank');
    });

    let clientId: string;
    let printedSecret: string;

    it('adds an instance and prints a client secret that is the stored one, sealed at rest', async () => {
      const run = await cli(env, [
        'instances', 'add', '--name', 'Photos',
        '--redirect-uri', 'https://photos.example/auth/callback',
        '--redirect-uri', 'http://localhost:3000/auth/callback',
        '--post-logout-redirect-uri', 'https://photos.example/',
        '--backchannel-logout-uri', 'https://photos.example/auth/backchannel-logout',
        '--grant-types', 'authorization_code, refresh_token,client_credentials',
        '--skip-consent',
      ]);
      expect(run.code, run.stderr).to.equal(0);
      clientId = /client_id:\s+(\S+)/.exec(run.stdout)![1]!;
      printedSecret = /client_secret:\s+(\S+)/.exec(run.stdout)![1]!;
      expect(run.stdout).to.contain('shown only this once');
      expect(run.stdout).to.contain(`AUTH_SERVER_URL=${loadConfig(env).issuer}\n`);
      expect(run.stdout).to.contain(`AUTH_API_KEY=${clientId}\n`);
      expect(run.stdout).to.contain(`AUTH_API_SECRET=${printedSecret}\n`);

      const stores = await openStores(loadConfig({ ...env, ...FAST_ARGON2 }), { schema: 'require-current' });
      try {
        const found = await stores.instances.findWithSecret(clientId);
        expect(found?.clientSecret).to.equal(printedSecret);
        expect(found?.instance).to.include({ name: 'Photos', skipConsent: true, tokenEndpointAuthMethod: 'client_secret_basic' });
        expect(found?.instance.grantTypes).to.deep.equal(['authorization_code', 'refresh_token', 'client_credentials']);
        expect(found?.instance.redirectUris).to.have.length(2);
        const column = await stores.dataSource
          .getRepository(InstanceEntity)
          .createQueryBuilder('instance')
          .addSelect('instance.secretEncrypted')
          .where('instance.clientId = :clientId', { clientId })
          .getOne();
        expect(column?.secretEncrypted).to.be.a('string').and.not.equal(printedSecret);
        expect(column?.secretEncrypted).not.to.contain(printedSecret);
      } finally {
        await stores.close();
      }
    });

    it('adds an instance in JSON: the secret once, with the issuer', async () => {
      const run = await cliJson<{ instance: InstanceView; clientSecret: string; authServerUrl: string }>(env, [
        'instances', 'add', '--name', 'Music', '--redirect-uri', 'https://music.example/cb', '--auth-method', 'client_secret_post',
      ]);
      expect(run.clientSecret).to.be.a('string').with.length.greaterThan(30);
      expect(run.authServerUrl).to.equal(loadConfig(env).issuer);
      expect(run.instance).to.include({ name: 'Music', tokenEndpointAuthMethod: 'client_secret_post', skipConsent: false });
      expect(run.instance.grantTypes).to.deep.equal(['authorization_code', 'refresh_token']);
      expect(run.instance).to.deep.include({ ipAllowlist: [], rateLimit: null });
    });

    it('lists instances without any secret', async () => {
      const run = await cli(env, ['instances', 'list', '--json']);
      expect(run.code).to.equal(0);
      const { instances } = JSON.parse(run.stdout) as { instances: InstanceView[] };
      expect(instances.map((instance) => instance.name)).to.deep.equal(['Photos', 'Music']);
      expect(instances[0]).to.include({ clientId, skipConsent: true });
      expect(run.stdout).not.to.contain(printedSecret);
      expect(run.stdout, 'no secret-like field').not.to.match(/"[^"]*secret[^"]*":/i);

      const table = await cli(env, ['instances', 'list']);
      expect(table.stdout).to.match(/^ID\s+NAME\s+CLIENT_ID\s+GRANT TYPES\s+REDIRECT URIS\s+AUTH METHOD\s+SKIP CONSENT\n/);
      expect(table.stdout).to.contain(clientId).and.not.contain(printedSecret);
    });

    it('refuses a bad redirect URI and an unknown grant type', async () => {
      const bad = await cli(env, ['instances', 'add', '--name', 'Bad', '--redirect-uri', 'not a url']);
      expect(bad.code).to.equal(65);
      expect(bad.stderr).to.equal('error: redirect URI "not a url" is not an absolute URL\n');
      const fragment = await cli(env, ['instances', 'add', '--name', 'Bad', '--redirect-uri', 'https://x.example/cb#frag']);
      expect(fragment.code).to.equal(65);
      const grant = await cli(env, ['instances', 'add', '--name', 'Bad', '--redirect-uri', 'https://x.example/cb', '--grant-types', 'password']);
      expect(grant.code).to.equal(65);
      expect(grant.stderr).to.contain('unsupported grant type "password"');
      for (const entry of ['10.0.0.0/40', '10.0.0.0/', '10.0.0.0/8/99']) {
        const cidr = await cli(env, ['instances', 'add', '--name', 'Bad', '--redirect-uri', 'https://x.example/cb', '--ip-allow', entry]);
        expect(cidr.code, entry).to.equal(65);
        expect(cidr.stderr).to.equal(`error: "${entry}" is not an IP address or address/prefix (for example 10.0.0.0/8 or fd00::/8)\n`);
      }
      const limit = await cli(env, ['instances', 'add', '--name', 'Bad', '--redirect-uri', 'https://x.example/cb', '--rate-limit', 'lots']);
      expect(limit.code).to.equal(65);
      const list = await cliJson<{ instances: InstanceView[] }>(env, ['instances', 'list']);
      expect(list.instances).to.have.length(2);
    });

    it('registers an IP allowlist and a rate limit', async () => {
      const run = await cliJson<{ instance: InstanceView }>(env, [
        'instances', 'add', '--name', 'Server-only', '--grant-types', 'client_credentials',
        '--ip-allow', '10.0.0.0/8', '--ip-allow', '192.168.1.7', '--rate-limit', '600',
      ]);
      expect(run.instance).to.deep.include({ ipAllowlist: ['10.0.0.0/8', '192.168.1.7'], rateLimit: 600 });
    });
  });
}

describe('chillfi3-auth CLI usage and configuration', () => {
  it('prints the usage of every command on help, --help and -h', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const run = await cli({}, argv);
      expect(run.code).to.equal(0);
      expect(run.stderr).to.equal('');
      for (const command of ['migrate', 'users add', 'users list', 'instances add', 'instances list', 'help']) {
        expect(run.stdout).to.contain(`  ${command}`);
      }
    }
    const json = await cliJson<{ commands: { command: string; options: { flags: string }[] }[] }>({}, ['help']);
    expect(json.commands.map((entry) => entry.command)).to.include('instances add');
    const addUser = json.commands.find((entry) => entry.command === 'users add');
    expect(addUser?.options.map((option) => option.flags)).to.include('--password-stdin');
    const jsonFirst = await cli({}, ['--json', 'help']);
    expect(JSON.parse(jsonFirst.stdout), '--json is taken before the command too').to.deep.equal(json);
  });

  it('prints one command usage on <command> --help', async () => {
    const run = await cli({}, ['instances', 'add', '--help']);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^Usage: chillfi3-auth instances add \[options\]\n/);
    expect(run.stdout).to.contain('--redirect-uri <uri...>').and.contain('--rate-limit <n>');
    const viaHelp = await cli({}, ['help', 'instances', 'add']);
    expect(viaHelp.stdout).to.equal(run.stdout);
  });

  it('exits 2 with a short usage on an unknown command, a missing subcommand or an unknown option', async () => {
    const unknown = await cli({}, ['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stdout).to.equal('');
    expect(unknown.stderr).to.match(/^error: unknown command 'frobnicate'\n\nUsage: chillfi3-auth <command>/);
    const none = await cli({}, []);
    expect(none.code).to.equal(2);
    const group = await cli({}, ['users']);
    expect(group.code).to.equal(2);
    expect(group.stderr).to.match(/^Usage: chillfi3-auth users /);
    expect(group.stderr).to.contain('  users add').and.contain('  users list');
    const subcommand = await cli({}, ['users', 'frob']);
    expect(subcommand.code).to.equal(2);
    expect(subcommand.stderr).to.match(/^error: unknown command 'frob'\n/);
    const option = await cli({}, ['users', 'list', '--verbose']);
    expect(option.code).to.equal(2);
    expect(option.stderr).to.match(/^error: unknown option '--verbose'\n\nUsage: chillfi3-auth users list /);
    const missing = await cli({}, ['instances', 'add', '--redirect-uri', 'https://x.example/cb']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain("required option '--name <name>' not specified");
  });

  it('exits 78 with the message on an invalid configuration, without a stack trace', async () => {
    const run = await cli({ AUTH_PORT: 'abc' }, ['users', 'list']);
    expect(run.code).to.equal(78);
    expect(run.stderr).to.match(/^error: invalid configuration:\n {2}AUTH_PORT: /);
    expect(run.stderr).not.to.match(/\bat .*\.ts:\d+/);
     const json = await cli({ AUTH_PORT: 'abc' }, ['users', 'list', '--json']);
    expect(json.code).to.equal(78);
    const { error } = JSON.parse(json.stdout) as { error: { code: string; message: string } };
    expect(error.code).to.equal('invalid_configuration');
    expect(error.message).to.match(/^invalid configuration:\n {2}AUTH_PORT: /);
  });

  it('prints its version from package.json on --version and -V, as JSON with --json', async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    for (const argv of [['--version'], ['-V']]) {
      const run = await cli({ AUTH_PORT: 'not read' }, argv);
      expect(run).to.deep.equal({ code: 0, stdout: `chillfi3-auth ${version}\n`, stderr: '' });
    }
    const json = await cli({}, ['--version', '--json']);
    expect(json.code).to.equal(0);
    expect(JSON.parse(json.stdout)).to.deep.equal({ version });
  });

  it('answers usage errors under --json with an error document on stdout and nothing on stderr (exit 2)', async () => {
    for (const argv of [['users', 'list', '--verbose', '--json'], ['--json', 'frobnicate'], ['users', '--json'], ['--json', 'help', 'nope']]) {
      const run = await cli({}, argv);
      expect(run.code, argv.join(' ')).to.equal(2);
      expect(run.stderr, argv.join(' ')).to.equal('');
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(error.code).to.equal('usage');
      expect(error.message).to.be.a('string').and.not.match(/^error: /);
    }
    const option = JSON.parse((await cli({}, ['users', 'list', '--verbose', '--json'])).stdout) as { error: { message: string } };
    expect(option.error.message).to.equal("unknown option '--verbose'");
  });

  it('exits 75 (try again) when the database does not answer, with a temporarily_unavailable document under --json', async () => {
    const env = { AUTH_DATABASE_URL: 'postgres://127.0.0.1:9/none', AUTH_SECRET_KEY: 's'.repeat(40) };
    const run = await cli(env, ['users', 'list']);
    expect(run.code).to.equal(75);
    expect(run.stderr).to.match(/^error: .*ECONNREFUSED/);
    expect(run.stderr, 'an outage is not a bug: no stack').not.to.match(/\n\s+at /);
    const json = await cli(env, ['users', 'list', '--json']);
    expect(json.code).to.equal(75);
    expect((JSON.parse(json.stdout) as { error: { code: string } }).error.code).to.equal('temporarily_unavailable');
  });

  it('exits 78 on PostgreSQL without AUTH_SECRET_KEY, saying how to make one', async () => {
    const run = await cli({ AUTH_DATABASE_URL: 'postgres://127.0.0.1:9/none' }, ['users', 'list']);
    expect(run.code).to.equal(78);
    expect(run.stderr).to.contain('AUTH_SECRET_KEY').and.contain('openssl rand -base64 48');
  });

  describe('as a real process (npx tsx src/cli.ts)', function () {
    // Three processes, each compiling the CLI with tsx as it starts (spawnCli gives each up to a minute).
    this.timeout(180_000);
    let database: ScratchDatabase;

    before(async () => {
      database = await scratchSqlite();
    });

    after(async () => {
      await database?.drop();
    });

    function spawnCli(argv: string[], input = '', nodeFlags: string[] = []) {
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', ...FAST_ARGON2, ...database.env };
      for (const key of ['AUTH_DATABASE_URL', 'AUTH_DB_HOST', 'AUTH_REDIS_URL']) delete env[key];
      return spawnSync('npx', ['tsx', ...nodeFlags, 'src/cli.ts', ...argv], { cwd: ROOT, env, input, encoding: 'utf8', timeout: 60_000 });
    }

    it('reads the password from a real stdin and lists users as JSON', function () {
      // Three processes, each compiling the CLI with tsx: slow on a busy machine.
      this.timeout(120_000);
      const added = spawnCli(['users', 'add', '--username', 'piped', '--password-stdin'], 'from a real pipe\n');
      expect(added.status, added.stderr).to.equal(0);
      const listed = spawnCli(['users', 'list', '--json']);
      expect(listed.status, listed.stderr).to.equal(0);
      const { users } = JSON.parse(listed.stdout) as { users: UserView[] };
      expect(users.map((user) => user.username)).to.deep.equal(['piped']);
      const usage = spawnCli(['nope']);
      expect(usage.status).to.equal(2);
    });

    it('prints help and its version without a runtime warning, which commands that start the services still print', function () {
      this.timeout(240_000);
      // A Node.js that is not an LTS release (a "Current" one): oidc-provider warns on loading there.
      const notLts = ['--import', 'data:text/javascript,Object.defineProperty(process,"release",{value:{...process.release,lts:undefined}})'];
      for (const argv of [['--help'], ['--version'], ['users', 'list']]) {
        const run = spawnCli(argv, '', notLts);
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stderr, argv.join(' ')).to.equal('');
      }
      const added = spawnCli(['users', 'add', '--username', 'on-current-node', '--no-password'], '', notLts);
      expect(added.status, added.stderr).to.equal(0);
      expect(added.stderr, 'a real warning is not hidden').to.contain('oidc-provider WARNING: Unsupported runtime');
    });
  });
});
