// FirstRunStore on both databases: setup tokens, and the lock that lets one request create the first admin.
import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { ServerSettings1764810000000 } from '../../migrations/1764810000000-server-settings.js';
import { AccountEntity } from '../../src/accounts/account-entity.js';
import { SetupLockEntity } from '../../src/accounts/first-run-entities.js';
import { openStores, type Stores } from '../../src/stores.js';
import { scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

for (const [label, scratch] of [
  ['SQLite', scratchSqlite],
  ['PostgreSQL', scratchPostgres],
] as const) {
  describe(`FirstRunStore (${label})`, function () {
    let database: ScratchDatabase;
    let stores: Stores;
    before(async function () {
      database = await scratch();
      stores = await openStores(loadConfig({ ...database.env, AUTH_SECRET_KEY: TEST_SECRET_KEY }), { schema: 'migrate' });
    });
    after(async function () {
      await stores?.close();
      await database?.drop();
    });

    it('keeps setup tokens as digests and knows them', async function () {
      const token = await stores.firstRun.issueSetupToken();
      expect(await stores.firstRun.isSetupToken(token)).to.equal(true);
      expect(await stores.firstRun.isSetupToken(`${token}x`)).to.equal(false);
      expect(await stores.firstRun.isSetupToken('')).to.equal(false);
      const rows = (await stores.dataSource.query('SELECT id FROM setup_tokens')) as { id: string }[];
      expect(rows.map(({ id }) => id)).not.to.include(token);
    });

    it('runs nothing while another request holds the lock, and takes over a lock left for a minute', async function () {
      const locks = stores.dataSource.getRepository(SetupLockEntity);
      await locks.insert({ id: 'first-admin', holder: 'someone-else', lockedAt: new Date() });
      let ran = false;
      expect(await stores.firstRun.whileFirstRun(async () => (ran = true))).to.equal('taken');
      expect(ran).to.equal(false);

      await locks.update({ id: 'first-admin' }, { lockedAt: new Date(Date.now() - 61_000) });
      expect(await stores.firstRun.whileFirstRun(async () => 'created')).to.equal('created');
      expect(await locks.count(), 'the lock is released').to.equal(0);
    });

    it('releases the lock when creating fails, and withdraws every setup token once an admin exists', async function () {
      const token = await stores.firstRun.issueSetupToken();
      let failure: unknown;
      await stores.firstRun.whileFirstRun(() => Promise.reject(new Error('refused'))).catch((error: unknown) => (failure = error));
      expect(failure).to.be.instanceOf(Error);
      expect(await stores.dataSource.getRepository(SetupLockEntity).count()).to.equal(0);
      expect(await stores.firstRun.isSetupToken(token)).to.equal(true);

      expect(await stores.firstRun.needed()).to.equal(true);
      await stores.firstRun.whileFirstRun(() => stores.accounts.create({ username: 'root', passwordHash: null, isAdmin: true }));
      expect(await stores.firstRun.needed()).to.equal(false);
      expect(await stores.firstRun.isSetupToken(token)).to.equal(false);
      expect(await stores.firstRun.whileFirstRun(async () => 'second')).to.equal('taken');
    });

    it('stays over when every admin is gone, and a token issued late is no token', async function () {
      const [root] = await stores.accounts.list({ search: 'root' });
      await stores.accounts.setAdmin(root!.id, false, { force: true });
      expect(await stores.firstRun.needed()).to.equal(false);
      expect(await stores.firstRun.isSetupToken(await stores.firstRun.issueSetupToken())).to.equal(false);
    });
  });

  describe(`first run ends with every write that makes an admin (${label})`, function () {
    let database: ScratchDatabase;
    let stores: Stores;
    beforeEach(async function () {
      database = await scratch();
      stores = await openStores(loadConfig({ ...database.env, AUTH_SECRET_KEY: TEST_SECRET_KEY }), { schema: 'migrate' });
    });
    afterEach(async function () {
      await stores?.close();
      await database?.drop();
    });

    it('an ordinary account ends nothing; making it an admin ends first run and withdraws every token', async function () {
      const token = await stores.firstRun.issueSetupToken();
      const alice = await stores.accounts.create({ username: 'alice', passwordHash: null });
      expect(await stores.firstRun.isSetupToken(token)).to.equal(true);
      await stores.accounts.setAdmin(alice.id, true);
      expect(await stores.firstRun.needed()).to.equal(false);
      expect((await stores.dataSource.query('SELECT id FROM setup_tokens')) as unknown[]).to.deep.equal([]);
    });

    it('a new admin ends it the same', async function () {
      const token = await stores.firstRun.issueSetupToken();
      await stores.accounts.create({ username: 'root', passwordHash: null, isAdmin: true });
      expect(await stores.firstRun.needed()).to.equal(false);
      expect(await stores.firstRun.isSetupToken(token)).to.equal(false);
    });

    it('the migration ends it on a server that has an admin already, withdrawing its tokens', async function () {
      const migration = new ServerSettings1764810000000();
      const runner = stores.dataSource.createQueryRunner();
      try {
        await migration.down(runner);
        await stores.dataSource.getRepository(AccountEntity).insert({ id: 'old-admin', username: 'old', usernameKey: 'old', isAdmin: true });
        await stores.dataSource.query("INSERT INTO setup_tokens (id) VALUES ('an-old-token-digest')");
        await migration.up(runner);
      } finally {
        await runner.release();
      }
      expect(await stores.firstRun.needed()).to.equal(false);
      expect((await stores.dataSource.query('SELECT id FROM setup_tokens')) as unknown[]).to.deep.equal([]);
    });

    it('the migration leaves it open on a server without an admin', async function () {
      const migration = new ServerSettings1764810000000();
      const runner = stores.dataSource.createQueryRunner();
      try {
        await migration.down(runner);
        await migration.up(runner);
      } finally {
        await runner.release();
      }
      expect(await stores.firstRun.needed()).to.equal(true);
    });
  });
}
