/**
 * The SQL store on both databases it runs on: real PostgreSQL (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test) in a fresh schema dropped afterwards, and an embedded SQLite file in a
 * temporary folder. Each gets the schema from the migrations, the shared adapter contract, then the purge of expired
 * rows.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../../config/index.js';
import { StoredModelEntity } from '../../adapters/sql-model-entity.js';
import { SqlOidcStore } from '../../adapters/sql.js';
import { openDatabase } from '../../src/db/data-source.js';
import { adapterContract } from './adapter-contract.js';

const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database to run the suite on: made before it, removed after it. */
interface TestDatabase {
  create(): Promise<DatabaseConfig>;
  remove(): Promise<void>;
}

sqlAdapterSuite('SQL adapter on PostgreSQL', postgresSchema());
sqlAdapterSuite('SQL adapter on SQLite', sqliteFile());

function sqlAdapterSuite(title: string, database: TestDatabase): void {
  describe(title, () => {
    let config: DatabaseConfig;
    let dataSource: DataSource;

    before(async () => {
      config = await database.create();
      dataSource = await openDatabase(config, { schema: 'migrate' });
    });

    after(async () => {
      await dataSource?.destroy();
      await database.remove();
    });

    adapterContract({
      open: async () => new SqlOidcStore(dataSource),
      openBroken: async () => {
        const closed = await openDatabase(config, { schema: 'as-is' });
        await closed.destroy();
        return new SqlOidcStore(closed);
      },
    });

    describe('expired rows', () => {
      it('are deleted by purgeExpired, live rows are kept', async () => {
        const store = new SqlOidcStore(dataSource);
        const [expiredId, liveId, permanentId] = [randomUUID(), randomUUID(), randomUUID()];
        await insertRow(dataSource, expiredId, new Date(Date.now() - 1000));
        await insertRow(dataSource, liveId, new Date(Date.now() + 60_000));
        await insertRow(dataSource, permanentId, null);

        expect(await store.purgeExpired()).to.be.at.least(1);

        expect(await rowExists(dataSource, expiredId)).to.equal(false);
        expect(await rowExists(dataSource, liveId)).to.equal(true);
        expect(await rowExists(dataSource, permanentId)).to.equal(true);
      });

      it('are purged by upsert at most once per purge interval', async () => {
        const store = new SqlOidcStore(dataSource, { purgeIntervalMs: 60_000 });
        const [firstExpiredId, secondExpiredId] = [randomUUID(), randomUUID()];
        await insertRow(dataSource, firstExpiredId, new Date(Date.now() - 1000));
        await new store.Adapter('AccessToken').upsert(randomUUID(), {}, 60);
        expect(await rowExists(dataSource, firstExpiredId)).to.equal(false);

        await insertRow(dataSource, secondExpiredId, new Date(Date.now() - 1000));
        await new store.Adapter('AccessToken').upsert(randomUUID(), {}, 60);
        expect(await rowExists(dataSource, secondExpiredId)).to.equal(true);
        await store.purgeExpired();
      });
    });
  });
}

/** A schema of its own in the test database, reached through the connection's search_path. */
function postgresSchema(): TestDatabase {
  const schema = `adapters_test_${randomBytes(6).toString('hex')}`;
  const runAsAdmin = async (statement: string): Promise<void> => {
    const admin = await openDatabase({ type: 'postgres', url: postgresUrl }, { schema: 'as-is' });
    try {
      await admin.query(statement);
    } finally {
      await admin.destroy();
    }
  };
  return {
    async create() {
      await runAsAdmin(`CREATE SCHEMA "${schema}"`);
      const url = new URL(postgresUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return { type: 'postgres', url: url.toString() };
    },
    async remove() {
      await runAsAdmin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

/** An SQLite file in a temporary folder. */
function sqliteFile(): TestDatabase {
  let folder: string | undefined;
  return {
    async create() {
      folder = await mkdtemp(join(tmpdir(), 'chillfi3-adapters-'));
      return { type: 'sqlite', file: join(folder, 'auth.sqlite') };
    },
    async remove() {
      if (folder) await rm(folder, { recursive: true, force: true });
    },
  };
}

async function insertRow(dataSource: DataSource, id: string, expiresAt: Date | null): Promise<void> {
  await dataSource.getRepository(StoredModelEntity).insert({
    model: 'AccessToken',
    id,
    payload: JSON.stringify({ jti: id }),
    grantId: null,
    uid: null,
    userCode: null,
    accountId: null,
    expiresAt,
    consumedAt: null,
  });
}

function rowExists(dataSource: DataSource, id: string): Promise<boolean> {
  return dataSource.getRepository(StoredModelEntity).existsBy({ model: 'AccessToken', id });
}
