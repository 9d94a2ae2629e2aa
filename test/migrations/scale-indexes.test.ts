// The migration that indexes every list and filter for a large deployment: on PostgreSQL each index is built
// CONCURRENTLY on a table that already holds entries, with the server's own data source and its request statement
// timeout (a build takes longer than a request may); on SQLite plainly. Undoing it brings the first schema's indexes
// back.
import { expect } from 'chai';
import { DataSource } from 'typeorm';
import { ScaleIndexes1764950000000 } from '../../migrations/1764950000000-scale-indexes.js';
import { createDataSource } from '../../src/db/data-source.js';
import { scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { migrationsBefore, undoThrough } from '../support/migrations.js';

const NEW_AUDIT_INDEXES = ['auth_audit_at_id', 'auth_audit_account_at_id', 'auth_audit_instance_at_id', 'auth_audit_action_at_id', 'auth_audit_failed_logins'];
const POSTGRES_ONLY = ['accounts_username_key_bytes', 'accounts_display_name_prefix', 'accounts_email_prefix'];
const ACCOUNT_INDEXES = ['accounts_admins', 'accounts_disabled', 'accounts_locked'];
const REPLACED = ['auth_audit_at', 'auth_audit_account'];
/** Enough entries that building an index takes longer than the statement timeout below. */
const ENTRIES = 300_000;
const STATEMENT_TIMEOUT_MS = 100;

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`migration: indexes for a large deployment (${backend})`, function () {
    this.timeout(120_000);
    let scratch: ScratchDatabase;
    before(async function () {
      scratch = backend === 'postgres' ? await scratchPostgres() : await scratchSqlite();
    });
    after(() => scratch?.drop());

    /** The names of the valid indexes of the tables the migration indexes. */
    async function indexes(dataSource: DataSource): Promise<string[]> {
      const rows = (await (backend === 'postgres'
        ? dataSource.query(
            `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
             WHERE t.relname IN ('auth_audit', 'accounts') AND i.indisvalid`,
          )
        : dataSource.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('auth_audit', 'accounts')"))) as { name: string }[];
      return rows.map((row) => row.name);
    }

    it('builds every index on a filled table within the server\'s statement timeout, and undoes it', async function () {
      const database = backend === 'postgres' ? { type: 'postgres' as const, url: scratch.env.AUTH_DATABASE_URL as string } : { type: 'sqlite' as const, file: `${scratch.env.AUTH_DATA_DIR}/auth.db` };
      const before = new DataSource({ ...createDataSource(database).options, migrations: migrationsBefore(ScaleIndexes1764950000000) } as ConstructorParameters<typeof DataSource>[0]);
      await before.initialize();
      await before.runMigrations();
      if (backend === 'postgres') {
        await before.query(
          `INSERT INTO auth_audit (id, at, action, outcome, instance_id)
           SELECT 'entry-' || n, now() - n * interval '1 second', 'login', 'success', 'instance-' || (n % 10) FROM generate_series(1, ${ENTRIES}) AS n`,
        );
      }
      await before.destroy();

      // The server's data source, with the statement timeout every request has.
      const dataSource = createDataSource(database, { timeoutMs: STATEMENT_TIMEOUT_MS });
      await dataSource.initialize();
      try {
        await dataSource.runMigrations();
        const made = await indexes(dataSource);
        expect(made).to.include.members([...NEW_AUDIT_INDEXES, ...ACCOUNT_INDEXES, ...(backend === 'postgres' ? POSTGRES_ONLY : [])]);
        expect(made).to.not.include.any.members(REPLACED);
        await undoThrough(dataSource, ScaleIndexes1764950000000);
        const undone = await indexes(dataSource);
        expect(undone).to.include.members(REPLACED);
        expect(undone).to.not.include.any.members([...NEW_AUDIT_INDEXES, ...ACCOUNT_INDEXES, ...POSTGRES_ONLY]);
        await dataSource.runMigrations();
        expect(await indexes(dataSource), 'and again').to.include.members(NEW_AUDIT_INDEXES);
      } finally {
        await dataSource.destroy();
      }
    });
  });
}
