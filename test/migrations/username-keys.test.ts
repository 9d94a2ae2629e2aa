// The migration to NFKC username keys, on accounts as the version before it left them (keys in lower case only): keys
// computed again, and a database with look-alike accounts refused with every group named, nothing changed.
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../config/index.js';
import { openDatabase } from '../../src/db/data-source.js';
import { UsernameKeys1764800000000 } from '../../migrations/1764800000000-username-keys.js';
import { scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { migrationsFrom, undoThrough } from '../support/migrations.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

const NFD_EMILE = 'E\u0301mile';

for (const [backend, scratch] of [['SQLite', scratchSqlite], ['PostgreSQL', scratchPostgres]] as const) {
  describe(`migration UsernameKeys1764800000000 (${backend})`, function () {
    let database: ScratchDatabase;
    let dataSource: DataSource;

    /** The schema up to the migration before this one, with these accounts as that version keyed them. */
    async function seed(usernames: string[]): Promise<void> {
      database = await scratch();
      dataSource = await openDatabase(loadConfig({ ...database.env, AUTH_SECRET_KEY: TEST_SECRET_KEY }).database, { schema: 'migrate' });
      await undoThrough(dataSource, UsernameKeys1764800000000);
      // Only the columns of that version, by plain SQL: the entity has grown columns that later migrations add.
      const postgres = dataSource.options.type === 'postgres';
      for (const [index, username] of usernames.entries()) {
        const values = postgres ? '$1, $2, $3' : '?, ?, ?';
        await dataSource.query(`INSERT INTO accounts (id, username, username_key) VALUES (${values})`, [`account-${index}`, username, username.toLowerCase()]);
      }
    }
    const keys = async () =>
      ((await dataSource.query('SELECT username, username_key FROM accounts ORDER BY id')) as { username: string; username_key: string }[]).map((row) => [row.username, row.username_key]);

    afterEach(async function () {
      await dataSource?.destroy();
      await database?.drop();
    });

    it('keys every account by NFKC and lower case, and back again when undone', async function () {
      await seed(['Alice', 'ｂｏｂ', NFD_EMILE, 'carol', 'ﬁona']);
      expect(await dataSource.runMigrations()).to.have.length(migrationsFrom(UsernameKeys1764800000000).length);
      expect(await keys()).to.deep.equal([
        ['Alice', 'alice'],
        ['ｂｏｂ', 'bob'],
        [NFD_EMILE, 'émile'],
        ['carol', 'carol'],
        ['ﬁona', 'fiona'],
      ]);
      await undoThrough(dataSource, UsernameKeys1764800000000);
      expect((await keys()).map(([, key]) => key)).to.deep.equal(['alice', 'ｂｏｂ', NFD_EMILE.toLowerCase(), 'carol', 'ﬁona']);
    });

    it('refuses look-alike accounts, naming each group with its code points, and changes nothing', async function () {
      await seed(['alice', 'ａlice', 'émile', NFD_EMILE, 'dave', '\uFDFA\uFDFA\uFDFA']);
      const unchanged = await keys();
      const failure = await dataSource.runMigrations().then(
        () => null,
        (error: unknown) => (error as Error).message,
      );
      expect(failure).to.match(/^usernames must be unique once case and look-alike forms are set aside/);
      expect(failure).to.contain('  the same: "alice" (id account-0), "\\u{ff41}lice" (id account-1)');
      expect(failure).to.contain('  the same: "\\u{e9}mile" (id account-2), "E\\u{301}mile" (id account-3)');
      expect(failure).to.contain('  longer than 50 characters once written out: "\\u{fdfa}\\u{fdfa}\\u{fdfa}" (id account-5)');
      expect(failure).not.to.contain('dave');
      expect(await keys()).to.deep.equal(unchanged);
      expect(await dataSource.showMigrations(), 'still pending').to.equal(true);
    });
  });
}
