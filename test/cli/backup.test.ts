/**
 * The restore drill, on both stores: a deployment with accounts, an instance and its secret, access, a set-password
 * link, signing keys and an audit trail is backed up while sign-ins and token requests run against it (the embedded
 * default with `chillfi3-auth backup`, PostgreSQL with pg_dump -Fc), restored into a fresh database, and a server
 * started on the restore: every row that existed when the backup began is back, people sign in, the instance's secret
 * is accepted, and tokens issued before the backup verify against the restored key set.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import type { DataSource } from 'typeorm';
import { cli, cliJson } from '../support/cli.js';
import { POSTGRES_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { startLoad } from '../support/failover-load.js';
import { addAccount, addInstance, basicAuth, codeFlow, PASSWORD } from '../support/fixtures.js';
import { POSTGRES_BIN } from '../support/store-processes.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Every row of every table the server's entities map, by table, keyed by primary key. */
async function snapshot(dataSource: DataSource): Promise<Map<string, Map<string, Record<string, unknown>>>> {
  const tables = new Map<string, Map<string, Record<string, unknown>>>();
  for (const metadata of dataSource.entityMetadatas) {
    const rows: Record<string, unknown>[] = await dataSource.query(`SELECT * FROM ${metadata.tableName}`);
    const keyOf = (row: Record<string, unknown>) => metadata.primaryColumns.map((column) => String(row[column.databaseName])).join('/');
    tables.set(metadata.tableName, new Map(rows.map((row) => [keyOf(row), row])));
  }
  return tables;
}

/** Tables whose rows the load below does not change: restored exactly as they were. */
const UNCHANGED_BY_LOAD = ['server_instances', 'instance_access', 'password_links', 'signing_keys'];
/** Tables of what the load writes (sign-ins, sessions, counters): their earlier rows may have changed or gone since. */
const WRITTEN_BY_LOAD = new Set(['oidc_models', 'server_settings']);

interface Before {
  server: TestServer;
  clientId: string;
  secret: string;
  /** Tokens issued before the backup: an instance's and a person's access token and ID token. */
  tokens: string[];
  rows: Awaited<ReturnType<typeof snapshot>>;
}

/** A deployment with one of everything the drill checks, its rows read just before the backup begins. */
async function populated(server: TestServer): Promise<Omit<Before, 'rows'>> {
  const admin = await addAccount(server, 'drill-admin', { isAdmin: true });
  const person = await addAccount(server, 'drill-person');
  const { instance, clientSecret, client } = await addInstance(server);
  await server.services.instances.grantAccess(instance.id, person.id, 'member');
  await server.services.passwordLinks.issue(admin.id);
  const signedIn = await codeFlow(client, { username: 'drill-person' });
  const issued = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(instance.clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const { access_token: instanceToken } = (await issued.json()) as { access_token: string };
  return {
    server,
    clientId: instance.clientId,
    secret: clientSecret,
    tokens: [instanceToken, signedIn.tokens.access_token, signedIn.tokens.id_token as string],
  };
}

/** Sign-ins and token requests in loops, as the backup is taken. */
function loadOn(before: Omit<Before, 'rows'>, client: oidc.Configuration) {
  return startLoad({
    'sign-in': async () => {
      const { tokens } = await codeFlow(client, { username: 'drill-person' });
      return { status: tokens.access_token ? 200 : 500, body: '' };
    },
    client_credentials: async () => {
      const response = await fetch(`${before.server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(before.clientId, before.secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      return { status: response.status, body: await response.text() };
    },
  });
}

/** What the restored server must do and hold. */
async function expectRestored(before: Before, restored: TestServer): Promise<void> {
  const after = await snapshot(restored.services.dataSource);
  for (const [table, rows] of before.rows) {
    const restoredRows = after.get(table)!;
    if (WRITTEN_BY_LOAD.has(table)) continue;
    for (const [key, row] of rows) {
      expect(restoredRows.has(key), `${table} ${key} restored`).to.equal(true);
      if (UNCHANGED_BY_LOAD.includes(table)) expect(restoredRows.get(key), `${table} ${key}`).to.deep.equal(row);
    }
  }
  for (const table of ['accounts', ...UNCHANGED_BY_LOAD]) expect(before.rows.get(table)?.size, `rows in ${table}`).to.be.above(0);
  expect([...after.keys()].some((table) => table.includes('audit')), 'an audit table').to.equal(true);

  // Tokens issued before the backup verify against the restored server's key set.
  const jwks = createLocalJWKSet((await (await fetch(`${restored.url}/jwks`)).json()) as JSONWebKeySet);
  for (const token of before.tokens) {
    const { payload } = await jwtVerify(token, jwks);
    expect(payload.iss).to.equal(before.server.issuer);
  }
  // The instance's secret is accepted (it is sealed under the restored master secret), and people sign in.
  const issued = await fetch(`${restored.url}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(before.clientId, before.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  expect(issued.status, await issued.clone().text()).to.equal(200);
  const client = await oidc.discovery(new URL(restored.issuer), before.clientId, before.secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const signedIn = await codeFlow(client, { username: 'drill-person', password: PASSWORD });
  expect(signedIn.tokens.access_token).to.be.a('string');
}

describe('restore drill: back up under load, restore into a fresh database, everything back', function () {
  this.timeout(120_000);

  describe('the embedded default: chillfi3-auth backup', function () {
    let server: TestServer | undefined;
    let restored: TestServer | undefined;
    let folder: string;
    let restoredDatabase: ScratchDatabase;

    before(async function () {
      folder = mkdtempSync(join(tmpdir(), 'chillfi3-backup-'));
      restoredDatabase = await scratchSqlite();
    });
    after(async function () {
      await restored?.close();
      await server?.close();
      rmSync(folder, { recursive: true, force: true });
    });

    it('copies the database and its generated secret while sign-ins run, and the copy restores', async function () {
      // AUTH_SECRET_KEY unset: the secret is generated beside the database, as on the embedded default.
      server = await startTestServer('sqlite', { AUTH_SECRET_KEY: '' });
      const base = await populated(server);
      const client = await oidc.discovery(new URL(server.issuer), base.clientId, base.secret, undefined, { execute: [oidc.allowInsecureRequests] });
      const rows = await snapshot(server.services.dataSource);
      const load = loadOn(base, client);
      let outcomes;
      let run;
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        run = await cliJson<{ database: string; secret: string; bytes: number }>({ ...server.env, AUTH_SECRET_KEY: '' }, ['backup', join(folder, 'copy')]);
      } finally {
        outcomes = await load.stop();
      }
      expect(outcomes.filter((outcome) => outcome.status === 200).length, 'requests served during the backup').to.be.above(0);
      expect(outcomes.filter((outcome) => outcome.status !== 200), 'no request failed').to.deep.equal([]);
      expect(run.secret).to.equal(join(folder, 'copy', 'secret.key'));
      expect(statSync(run.database).mode & 0o777).to.equal(0o600);
      const copy = new Database(run.database, { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true })).to.equal('ok');
      copy.close();

      const again = await cli({ ...server.env, AUTH_SECRET_KEY: '' }, ['backup', join(folder, 'copy')]);
      expect(again.code, 'never overwrites a backup').to.equal(73);

      // The restore: both files into an empty data folder, and a server started on it.
      const dataDir = restoredDatabase.env.AUTH_DATA_DIR!;
      copyFileSync(run.database, join(dataDir, 'auth.sqlite'));
      copyFileSync(run.secret, join(dataDir, 'secret.key'));
      restored = await startTestServer('sqlite', { AUTH_SECRET_KEY: '' }, { database: restoredDatabase });
      await expectRestored({ ...base, rows }, restored);
    });

    it('refuses PostgreSQL, naming pg_dump', async function () {
      const run = await cli({ AUTH_DATABASE_URL: POSTGRES_URL, AUTH_SECRET_KEY: 'x'.repeat(48) }, ['backup', join(folder, 'pg')]);
      expect(run.code).to.equal(65);
      expect(run.stderr).to.contain('pg_dump');
      expect(existsSync(join(folder, 'pg'))).to.equal(false);
    });
  });

  describe('PostgreSQL: pg_dump -Fc, pg_restore into a fresh database', function () {
    let server: TestServer | undefined;
    let restored: TestServer | undefined;
    let restoredDatabase: ScratchDatabase | undefined;
    let folder: string;

    before(function () {
      folder = mkdtempSync(join(tmpdir(), 'chillfi3-pg-dump-'));
    });
    after(async function () {
      await restored?.close();
      await server?.close();
      rmSync(folder, { recursive: true, force: true });
    });

    it('dumps while sign-ins run, and the dump restores', async function () {
      server = await startTestServer('postgres');
      const base = await populated(server);
      const client = await oidc.discovery(new URL(server.issuer), base.clientId, base.secret, undefined, { execute: [oidc.allowInsecureRequests] });
      const rows = await snapshot(server.services.dataSource);
      const dump = join(folder, 'auth.dump');
      const load = loadOn(base, client);
      let outcomes;
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        // One transaction (a snapshot) of the whole database, in pg_dump's custom format.
        execFileSync(join(POSTGRES_BIN, 'pg_dump'), ['-Fc', '-f', dump, '-d', server.env.AUTH_DATABASE_URL!], { timeout: 60_000 });
      } finally {
        outcomes = await load.stop();
      }
      expect(outcomes.filter((outcome) => outcome.status !== 200), 'no request failed').to.deep.equal([]);

      restoredDatabase = await scratchPostgres();
      execFileSync(join(POSTGRES_BIN, 'pg_restore'), ['--no-owner', '--exit-on-error', '-d', restoredDatabase.env.AUTH_DATABASE_URL!, dump], { timeout: 60_000 });
      restored = await startTestServer('postgres', {}, { database: restoredDatabase });
      await expectRestored({ ...base, rows }, restored);
    });
  });
});
