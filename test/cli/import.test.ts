// `chillfi3-auth import chillfi3` against real ChillFi3 users tables on MariaDB, into a live test deployment: imported
// users sign in with their old passwords and their tokens carry their ChillFi3 id and role; two instances' users are
// one account only by the stated rules; re-runs and dry runs change nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { AccountEntity } from '../../src/accounts/account-entity.js';
import { runCli } from '../../src/cli/program.js';
import { servicesOn } from '../../src/services.js';
import { bcryptOf, manyUsers, scratchChillFi3, type ChillFi3Database } from '../import/chillfi3-database.js';
import { cli, cliJson, FAST_ARGON2 } from '../support/cli.js';
import { addAccount, addInstance, codeFlow, PASSWORD } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

interface ImportRow {
  id: unknown;
  username?: string;
  action: string;
  role?: string;
  account?: string | null;
  matchedBy?: string;
  setsPassword?: boolean;
  reason?: string;
  notes?: string[];
}

interface ImportResult {
  dryRun: boolean;
  summary: Record<'create' | 'link' | 'update' | 'skip' | 'clash' | 'bad' | 'withoutPassword' | 'rows' | 'rowsPerSecond', number>;
  rows: ImportRow[];
}

/** Instance A's table: this many ordinary users, then the rows below (ids after them). */
const MANY = 2000;
const B_PASSWORD = 'the password used on instance B';

for (const backend of BACKENDS) {
  describe(`import chillfi3 (${backend})`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let tableA: ChillFi3Database;
    let tableB: ChillFi3Database;
    let instanceA: Awaited<ReturnType<typeof addInstance>>;
    let instanceB: Awaited<ReturnType<typeof addInstance>>;
    let files: string;

    before(async function () {
      server = await startTestServer(backend);
      [instanceA, instanceB, tableA, tableB] = await Promise.all([addInstance(server), addInstance(server), scratchChillFi3(), scratchChillFi3()]);
      files = mkdtempSync(join(tmpdir(), 'chillfi3-import-'));
      await tableA.insert([
        ...manyUsers(MANY, { prefix: 'a-user', password: PASSWORD }),
        { id: MANY + 1, username: 'alice', password: bcryptOf(PASSWORD), is_admin: true, profile_image_url: '/uploads/profile/alice.png' },
        { id: MANY + 2, username: 'nopass', password: null },
        { id: MANY + 3, username: 'carol', password: bcryptOf(PASSWORD) },
        { id: MANY + 4, username: 'dora', password: bcryptOf(PASSWORD) },
        { id: MANY + 5, username: 'not-hashed', password: 'plain text password' },
        { id: MANY + 6, username: '', password: null },
      ]);
      // B numbers its users from 1 too. The same person by the same hash (Dora). Only the mapping file can say who the
      // others are: nopass has no password here (B's nopass taking it would be whoever holds that name on B); carol has
      // another password; alice's hash here became argon2id at her first sign-in; chief is a server admin still to
      // choose a password through their link; root, an admin here, has no password on B (issue 16: it was linked as that server's user).
      await tableB.insert([
        ...manyUsers(1000, { prefix: 'b-user', firstId: 10, password: B_PASSWORD }),
        { id: 3, username: 'Dora', password: bcryptOf(PASSWORD), is_admin: false },
        { id: 4, username: 'nopass', password: bcryptOf(B_PASSWORD), is_admin: 1 },
        { id: 5, username: 'carol', password: bcryptOf(B_PASSWORD) },
        { id: 6, username: 'alice', password: bcryptOf(PASSWORD) },
        { id: 7, username: 'chief', password: bcryptOf(B_PASSWORD), is_admin: 1 },
        { id: 8, username: 'root', password: null, is_admin: 1 },
      ]);
      await addAccount(server, 'root', { isAdmin: true });
      expect((await run('users', 'add', '--username', 'chief', '--no-password', '--admin')).code).to.equal(0);
    });
    after(async function () {
      await Promise.all([server?.close(), tableA?.drop(), tableB?.drop()]);
      if (files) rmSync(files, { recursive: true, force: true });
    });

    const run = (...argv: string[]) => cli(server.env, argv);
    const importJson = (...argv: string[]) => cliJson<ImportResult>(server.env, ['import', 'chillfi3', ...argv]);
    const accountCount = () => server.services.dataSource.getRepository(AccountEntity).count();
    const passwordHashOf = async (username: string) =>
      (await server.services.accounts.findForLogin(username))?.passwordHash ?? null;
    function writeFile(name: string, content: string): string {
      const path = join(files, name);
      writeFileSync(path, content);
      return path;
    }

    it("imports thousands of users from MariaDB; one signs in with their ChillFi3 password and carries their id and role", async function () {
      const started = performance.now();
      const result = await importJson('--instance', instanceA.instance.clientId, '--mysql', tableA.url, '--picture-base', 'https://a.example');
      const seconds = (performance.now() - started) / 1000;
      console.log(`      imported ${result.summary.rows} rows in ${seconds.toFixed(2)} s: ${Math.round(result.summary.rows / seconds)} rows/s (command), ${result.summary.rowsPerSecond} rows/s (reading the accounts, planning, writing)`);
      expect(result.summary).to.include({ create: MANY + 4, link: 0, update: 0, skip: 0, clash: 0, bad: 2, withoutPassword: 1, rows: MANY + 6 });
      expect(result.rows.filter((row) => row.action === 'bad')).to.deep.equal([
        { id: MANY + 5, action: 'bad', reason: 'password is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)' },
        { id: MANY + 6, action: 'bad', reason: 'username must be 1 to 50 printable characters, without leading or trailing spaces' },
      ]);
      expect(await accountCount()).to.equal(MANY + 4 + 2);
      const alice = await server.services.accounts.findByUsername('alice');
      expect(alice).to.include({ picture: 'https://a.example/uploads/profile/alice.png', isAdmin: false });
      expect(await server.services.instances.accessOf(instanceA.instance.id, alice?.id as string)).to.include({ role: 'admin', localUserId: MANY + 1 });
      expect(await passwordHashOf('alice')).to.match(/^\$2b\$04\$/);

      const { tokens } = await codeFlow(instanceA.client, { username: 'alice' });
      expect(tokens.claims()).to.include({ sub: alice?.id, chillfi3_user_id: MANY + 1, chillfi3_role: 'admin' });
      expect(decodeJwt(tokens.access_token)).to.include({ chillfi3_user_id: MANY + 1, chillfi3_role: 'admin' });
      expect(await passwordHashOf('alice'), 'upgraded at the first sign-in').to.match(/^\$argon2id\$/);
      const member = await codeFlow(instanceA.client, { username: 'a-user2' });
      expect(member.tokens.claims()).to.include({ chillfi3_user_id: 2, chillfi3_role: 'member' });
      expect(await server.services.accounts.hasPassword((await server.services.accounts.findByUsername('nopass'))?.id as string)).to.equal(false);

      await server.services.audit.flush();
      const trail = await server.services.audit.query({ accountId: alice?.id, actions: ['account.created', 'access.granted'] });
      expect(trail.events.map((event) => [event.action, event.details?.imported])).to.have.deep.members([
        ['account.created', 'chillfi3'],
        ['access.granted', 'chillfi3'],
      ]);
    });

    it("re-runs from ChillFi3's .env without duplicating anything, and follows a changed is_admin", async function () {
      await tableA.query('UPDATE users SET is_admin = 1 WHERE id = 7');
      const envFile = writeFile('chillfi3.env', `PORT=3005\nDB_HOST=127.0.0.1\nDB_PORT=3306\nDB_USER=root\nDB_PASSWORD=\nDB_NAME=${tableA.name}\nJWT_SECRET=x\n`);
      const before = await accountCount();
      const result = await importJson('--instance', instanceA.instance.id, '--env-file', envFile);
      expect(result.summary).to.include({ create: 0, link: 0, update: 1, skip: MANY + 3, clash: 0, bad: 2 });
      expect(result.rows.find((row) => row.action === 'update')).to.include({ id: 7, username: 'a-user7', role: 'admin' });
      expect(await accountCount()).to.equal(before);
      expect((await server.services.instances.listAccess({ instanceId: instanceA.instance.id })).length).to.equal(MANY + 4);
    });

    it('plans a second instance in a dry run without writing anything', async function () {
      const before = { accounts: await accountCount(), audit: (await server.services.audit.query({ limit: 1 })).events[0]?.id };
      const result = await importJson('--instance', instanceB.instance.clientId, '--mysql', tableB.url, '--match', 'username', '--dry-run');
      expect(result.dryRun).to.equal(true);
      expect(result.summary).to.include({ create: 1000, link: 1, clash: 5, bad: 0 });
      expect(await accountCount()).to.equal(before.accounts);
      expect((await server.services.audit.query({ limit: 1 })).events[0]?.id).to.equal(before.audit);
      expect(await server.services.instances.listAccess({ instanceId: instanceB.instance.id })).to.deep.equal([]);
      const lines = await run('import', 'chillfi3', '--instance', instanceB.instance.clientId, '--mysql', tableB.url, '--dry-run');
      expect(lines.stdout).to.contain(`Dry run for "${instanceB.instance.name}": nothing was written.`);
      expect(lines.stdout).to.contain('  clash   id 3 "Dora": account "dora" exists: link to it with --match username or a mapping file');
      expect(lines.stdout).to.contain('would be created 1000, linked 0, updated 0, skipped 0, clashes 6, bad rows 0 (1006 rows in ');
    });

    it('merges a second instance by --match username only where both sides hold the same hash; the rest waits for the mapping file', async function () {
      const matched = await importJson('--instance', instanceB.instance.clientId, '--mysql', tableB.url, '--match', 'username');
      expect(matched.summary).to.include({ create: 1000, link: 1, clash: 5 });
      expect(matched.rows.filter((row) => row.action !== 'create').map((row) => [row.username, row.action, row.matchedBy ?? row.reason])).to.deep.equal([
        ['Dora', 'link', 'same password hash'],
        ['nopass', 'clash', 'account "nopass" has no password, so nothing shows the row\'s user owns it: confirm in a mapping file'],
        ['carol', 'clash', 'account "carol" has another password: confirm in a mapping file'],
        ['alice', 'clash', 'account "alice" has another password: confirm in a mapping file'],
        ['chief', 'clash', 'account "chief" is a server admin: confirm in a mapping file'],
        ['root', 'clash', 'account "root" is a server admin: confirm in a mapping file'],
      ]);
      const dora = await server.services.accounts.findByUsername('dora');
      const onB = await codeFlow(instanceB.client, { username: 'Dora' });
      expect(onB.tokens.claims(), "B's id and role, not A's").to.include({ sub: dora?.id, chillfi3_user_id: 3, chillfi3_role: 'member' });
      const signIn = (username: string) => codeFlow(instanceB.client, { username, password: B_PASSWORD }).then(() => 'signed in', () => 'refused');
      expect(await signIn('carol'), "B's carol is not A's carol").to.equal('refused');
      expect(await signIn('nopass'), "B's nopass took no password here").to.equal('refused');
      expect(await signIn('chief'), "B's chief is not this server's admin").to.equal('refused');
      const [nopass, chief, root] = await Promise.all(['nopass', 'chief', 'root'].map(async (name) => (await server.services.accounts.findByUsername(name))?.id as string));
      expect(await Promise.all([nopass, chief].map((id) => server.services.accounts.hasPassword(id as string)))).to.deep.equal([false, false]);
      for (const id of [nopass, chief, root]) expect(await server.services.instances.accessOf(instanceB.instance.id, id as string), 'no link').to.equal(null);
    });

    it('links what the mapping file says: an account without a password takes the row\'s, the rest stay clashes', async function () {
      const map = writeFile('map.json', JSON.stringify({ 5: { create: 'carol-b' }, ALICE: 'alice', nopass: 'nopass' }));
      const mapped = await importJson('--instance', instanceB.instance.clientId, '--mysql', tableB.url, '--match', 'username', '--map', map);
      expect(mapped.summary).to.include({ create: 1, link: 2, skip: 1001, clash: 2 });
      expect(mapped.rows.filter((row) => row.action === 'link').map((row) => [row.username, row.matchedBy, row.setsPassword])).to.deep.equal([
        ['nopass', 'mapping', true],
        ['alice', 'mapping', false],
      ]);
      const carolB = await codeFlow(instanceB.client, { username: 'carol-b', password: B_PASSWORD });
      expect(carolB.tokens.claims()).to.include({ chillfi3_user_id: 5, chillfi3_role: 'member' });
      const alice = await server.services.accounts.findByUsername('alice');
      const aliceOnB = await codeFlow(instanceB.client, { username: 'alice' });
      expect(aliceOnB.tokens.claims()).to.include({ sub: alice?.id, chillfi3_user_id: 6, chillfi3_role: 'member' });
      const nopass = await codeFlow(instanceB.client, { username: 'nopass', password: B_PASSWORD });
      expect(nopass.tokens.claims()).to.include({ chillfi3_user_id: 4, chillfi3_role: 'admin' });
      await server.services.audit.flush();
      const passwordSet = await server.services.audit.query({ accountId: nopass.tokens.claims()?.sub, actions: ['account.password_set'] });
      expect(passwordSet.events.map((event) => event.details)).to.deep.equal([{ with: 'import', imported: 'chillfi3', by: null, via: 'cli', os_user: userInfo().username }]);
      const lines = await run('import', 'chillfi3', '--instance', instanceB.instance.clientId, '--mysql', tableB.url, '--match', 'username', '--dry-run');
      expect(lines.stdout).to.contain('  clash   id 7 "chief": account "chief" is a server admin: confirm in a mapping file');
      expect(lines.stdout).to.contain('  clash   id 8 "root": account "root" is a server admin: confirm in a mapping file');
    });

    it('plans a JSON export made as docs/operations.md says exactly as the table it came from', async function () {
      const [exported] = (await tableB.query(
        "SELECT JSON_ARRAYAGG(JSON_OBJECT('id',id,'username',username,'display_name',display_name,'password',password,'bio',bio,'profile_image_url',profile_image_url,'is_admin',is_admin)) AS users FROM users",
      )) as { users: unknown }[];
      // mysql2 decodes the JSON column; the mysql client prints it as text.
      const file = writeFile('export.json', JSON.stringify(exported?.users));
      const plan = (source: string[]) => importJson('--instance', instanceB.instance.clientId, ...source, '--match', 'username', '--dry-run');
      const [fromTable, fromFile] = await Promise.all([plan(['--mysql', tableB.url]), plan(['--json-file', file])]);
      expect(fromFile.rows).to.have.length(1006);
      expect(fromFile.rows).to.deep.equal(fromTable.rows);
    });

    it('imports a JSON export, reporting bad rows by id, with progress on a terminal only', async function () {
      const third = await addInstance(server);
      const hash = bcryptOf(PASSWORD);
      const rows = [
        { id: 1, username: 'json-one', password: hash, is_admin: '1', display_name: 'One' },
        { id: '2', username: 'json-two', password: null, is_admin: 0 },
        { id: 2, username: 'json-two-again', password: null },
        { id: 'x', username: 'json-x', password: null },
        { id: 4, username: 'json-four', password: '$2b$10$short' },
        'not a row',
        { id: 6, username: 'json-six', password: hash, is_admin: true },
        { id: 7, username: 'json <seven>', password: hash },
      ];
      const file = writeFile('users.json', JSON.stringify(rows));
      let stderr = '';
      let stdout = '';
      const code = await runCli(['import', 'chillfi3', '--instance', third.instance.clientId, '--json-file', file], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: Object.assign({ write: (text: string) => (stderr += text) }, { isTTY: true }),
        stdin: Readable.from([]),
        env: { NODE_ENV: 'test', ...FAST_ARGON2, ...server.env },
      }, servicesOn);
      expect(code, stderr).to.equal(0);
      expect(stderr).to.contain('] 8/8 rows\n');
      expect(stdout.split('\n').filter((line) => line.startsWith('  bad'))).to.deep.equal([
        '  bad     id 2: id is repeated in the table',
        '  bad     id x: id is not a whole number from 1 to 2147483647',
        '  bad     id 4: password is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)',
        '  bad     id null: id is not a whole number from 1 to 2147483647',
      ]);
      expect(stdout).to.contain('created 4, linked 0, updated 0, skipped 0, clashes 0, bad rows 4 (8 rows in');
      expect(stdout.split('\n').filter((line) => line.startsWith('  note'))).to.deep.equal([
        '  note    id 7 "json <seven>": username kept as it is, though new usernames must be 1 to 50 letters, digits and . _ - @, starting with a letter or a digit',
      ]);
      const six = await codeFlow(third.client, { username: 'json-six' });
      expect(six.tokens.claims()).to.include({ chillfi3_user_id: 6, chillfi3_role: 'admin' });
      const seven = await codeFlow(third.client, { username: 'JSON <SEVEN>' });
      expect(seven.tokens.claims(), 'an imported name outside the rules signs in').to.include({ preferred_username: 'json <seven>', chillfi3_user_id: 7 });
      expect((await run('import', 'chillfi3', '--instance', third.instance.clientId, '--json-file', file)).stderr, 'no terminal, no progress').to.equal('');
    });

    it('refuses a command line without exactly one source, and names what is missing', async function () {
      expect((await run('import', 'chillfi3', '--instance', instanceA.instance.id)).code).to.equal(2);
      expect((await run('import', 'chillfi3', '--instance', instanceA.instance.id, '--mysql', tableA.url, '--json-file', 'x.json')).code).to.equal(2);
      expect((await run('import', 'chillfi3', '--instance', instanceA.instance.id, '--mysql', tableA.url, '--match', 'email')).code).to.equal(2);
      const unknown = await run('import', 'chillfi3', '--instance', 'nope', '--mysql', tableA.url, '--dry-run');
      expect([unknown.code, unknown.stderr]).to.deep.equal([66, 'error: no instance "nope" (give an id or a client id)\n']);
      const notJson = await run('import', 'chillfi3', '--instance', instanceA.instance.id, '--json-file', writeFile('bad.json', '{'));
      expect(notJson.code).to.equal(65);
      expect(notJson.stderr).to.match(/is not JSON/);
    });
  });
}
