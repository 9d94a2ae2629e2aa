// The migration that makes instance names unique, run over a database of the schema before it that holds instances
// sharing a name as people read it: none is lost or changed but its name, the oldest keeps its name, the later ones
// become `name (2)`, `name (3)` in the order they were registered (around every name kept), and afterwards the
// database itself refuses a second instance of one name.
import { expect } from 'chai';
import { DataSource } from 'typeorm';
import { InstanceNameKey1764820000000 } from '../../migrations/1764820000000-instance-name-key.js';
import { migrations } from '../../migrations/index.js';
import { instanceNameKey } from '../../src/instances/instance-name.js';
import { POSTGRES_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { migrationsBefore } from '../support/migrations.js';

const PREVIOUS_MIGRATIONS = migrationsBefore(InstanceNameKey1764820000000);

function dataSourceOn(backend: 'sqlite' | 'postgres', scratch: ScratchDatabase, upTo: typeof migrations): DataSource {
  return backend === 'postgres'
    ? new DataSource({ type: 'postgres', url: scratch.env.AUTH_DATABASE_URL ?? POSTGRES_URL, migrations: upTo, migrationsTransactionMode: 'each' })
    : new DataSource({ type: 'better-sqlite3', database: `${scratch.env.AUTH_DATA_DIR}/auth.db`, migrations: upTo, migrationsTransactionMode: 'each' });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`migration: unique instance names (${backend})`, function () {
    this.timeout(30_000);
    let scratch: ScratchDatabase;

    before(async function () {
      scratch = backend === 'postgres' ? await scratchPostgres() : await scratchSqlite();
    });
    after(() => scratch?.drop());

    it('renames the later of look-alike names "name (n)" by age, then refuses a duplicate', async function () {
      const old = dataSourceOn(backend, scratch, PREVIOUS_MIGRATIONS);
      await old.initialize();
      await old.runMigrations();
      const rows = [
        ['a1', 'Kitchen', '2025-01-01T00:00:00Z'],
        ['a2', ' KITCHEN', '2025-01-02T00:00:00Z'],
        ['a3', 'Kitchen (2)', '2025-01-03T00:00:00Z'],
        ['a4', 'ｋｉｔｃｈｅｎ', '2025-01-04T00:00:00Z'],
        ['a5', 'Garage', '2025-01-05T00:00:00Z'],
      ];
      for (const [id, name, createdAt] of rows) {
        await old
          .createQueryBuilder()
          .insert()
          .into('server_instances')
          .values({
            id,
            name,
            client_id: `client-${id}`,
            redirect_uris: '[]',
            post_logout_redirect_uris: '[]',
            grant_types: '["client_credentials"]',
            scopes: 'openid',
            token_endpoint_auth_method: 'client_secret_basic',
            ip_allowlist: '[]',
            created_at: new Date(createdAt as string),
            updated_at: new Date(createdAt as string),
          })
          .execute();
      }
      await old.destroy();

      const current = dataSourceOn(backend, scratch, migrations);
      await current.initialize();
      try {
        await current.runMigrations();
        const migrated: { id: string; name: string; name_key: string; client_id: string }[] = await current
          .createQueryBuilder()
          .select(['i.id AS id', 'i.name AS name', 'i.name_key AS name_key', 'i.client_id AS client_id'])
          .from('server_instances', 'i')
          .orderBy('i.id')
          .getRawMany();
        expect(migrated.map((row) => [row.id, row.name])).to.deep.equal([
          ['a1', 'Kitchen'],
          ['a2', 'KITCHEN (3)'],
          ['a3', 'Kitchen (2)'],
          ['a4', 'ｋｉｔｃｈｅｎ (4)'],
          ['a5', 'Garage'],
        ]);
        for (const row of migrated) {
          expect(row.name_key).to.equal(instanceNameKey(row.name));
          expect(row.client_id, 'nothing but the name changes').to.equal(`client-${row.id}`);
        }
        const duplicate = current
          .createQueryBuilder()
          .insert()
          .into('server_instances')
          .values({
            id: 'a6',
            name: 'GARAGE',
            name_key: instanceNameKey('GARAGE'),
            client_id: 'client-a6',
            redirect_uris: '[]',
            post_logout_redirect_uris: '[]',
            grant_types: '[]',
            scopes: 'openid',
            token_endpoint_auth_method: 'none',
            ip_allowlist: '[]',
          })
          .execute();
        await duplicate.then(
          () => expect.fail('the database took a second "Garage"'),
          (error: Error) => expect(error.message).to.match(/unique|duplicate/i),
        );
      } finally {
        await current.destroy();
      }
    });
  });
}
