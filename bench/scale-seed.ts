// The scale benchmark's data (bench/scale.ts): 1,000,000 accounts, 1,000 instances (one of them with 101,000 members),
// 2,000,000 access links and 10,000,000 audit entries spread evenly over the year before the seed, written by
// PostgreSQL itself (INSERT ... SELECT over generate_series, a chunk per statement) on the schema the server's own
// migrations made. Ids are deterministic (accountIdOf), so the benchmark names rows without reading them. A marker
// table (bench_scale_seed) says the database is seeded, and when: a run finding it seeds nothing.
import pg from 'pg';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../src/logger.js';
import { startServices } from '../src/services.js';
import { PASSWORD } from '../test/support/fixtures.js';
import { TEST_SECRET_KEY } from '../test/support/test-server.js';

export const ACCOUNTS = 1_000_000;
export const INSTANCES = 1_000;
/** Members of the one large instance (its member list is the one measured). */
export const BIG_MEMBERS = 101_000;
export const AUDIT_ROWS = 10_000_000;
const YEAR_MS = 365 * 86_400_000;
/** Rows per INSERT statement. */
const CHUNK = 500_000;

export const ROOT_USERNAME = 'root';

export interface SeedInfo {
  accounts: number;
  rootUsername: string;
  bigInstanceId: string;
  /** The moment of the newest seeded audit entry (entry g is g × (year / AUDIT_ROWS) older). */
  newestAt: Date;
  /** The first entry number older than `moment`. */
  auditRowsBefore(moment: Date): number;
}

const uuidOf = (kind: string, n: number | string) => `'00000000-0000-7000-${kind}-' || lpad(to_hex(${n}), 12, '0')`;
/** The id of seeded account n (1 to ACCOUNTS). */
export const accountIdOf = (n: number) => `00000000-0000-7000-a000-${n.toString(16).padStart(12, '0')}`;

/** The hash of PASSWORD as the benchmark's servers check it (the test cost: see test/support/test-server.ts). */
async function passwordHash(url: string): Promise<string> {
  const config = loadConfig({ AUTH_DATABASE_URL: url, AUTH_SECRET_KEY: TEST_SECRET_KEY, ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', LOG_LEVEL: 'silent' });
  const services = await startServices(config, createLogger('silent'), { schema: 'migrate' });
  try {
    return await services.hasher.hash(PASSWORD);
  } finally {
    await services.close();
  }
}

async function ensureDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const server = new URL(url);
  server.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
}

function infoOf(seededAt: Date, bigInstanceId: string): SeedInfo {
  const step = YEAR_MS / AUDIT_ROWS;
  return {
    accounts: ACCOUNTS,
    rootUsername: ROOT_USERNAME,
    bigInstanceId,
    newestAt: seededAt,
    auditRowsBefore: (moment) => Math.max(0, Math.ceil((seededAt.getTime() - moment.getTime()) / step)),
  };
}

/** Writes audit entries g = from to to - 1 (0 is the newest) of the seed described by `info`. */
export async function seedAuditRange(client: pg.Client, info: Pick<SeedInfo, 'newestAt' | 'bigInstanceId'>, from: number, to: number, log?: (message: string) => void): Promise<void> {
  const step = YEAR_MS / AUDIT_ROWS;
  for (let start = from; start < to; start += CHUNK) {
    const end = Math.min(to, start + CHUNK) - 1;
    // Of every 1,000 entries: 600 sign-ins (1 in 16 refused), 250 tokens issued, 100 refreshed, 40 sign-outs, 9
    // profile changes; 1 in 100,000 a signing-key action (the rare filter). A tenth are the large instance's.
    await client.query(
      `INSERT INTO auth_audit (id, at, action, outcome, account_id, instance_id, ip, user_agent, details)
       SELECT ${uuidOf('c000', 'g')},
              date_trunc('milliseconds', $1::timestamptz - (g * $2::double precision) * interval '1 millisecond'),
              CASE WHEN g % 100000 = 99999 THEN 'key.staged'
                   WHEN g % 1000 < 600 THEN 'login'
                   WHEN g % 1000 < 850 THEN 'token.issued'
                   WHEN g % 1000 < 950 THEN 'token.refreshed'
                   WHEN g % 1000 < 990 THEN 'logout'
                   ELSE 'account.profile_updated' END,
              CASE WHEN g % 1000 < 600 AND (g / 10) % 16 = 3 THEN 'failure' ELSE 'success' END,
              ${uuidOf('a000', `1 + (g * 7919) % ${ACCOUNTS}`)},
              CASE WHEN g % 10 = 0 THEN $3 ELSE ${uuidOf('b000', `1 + g % ${INSTANCES - 1}`)} END,
              '10.' || (g % 250) || '.' || ((g / 250) % 250) || '.' || (g % 199),
              'Mozilla/5.0 (X11; Linux x86_64) bench',
              CASE WHEN g % 1000 < 600 AND (g / 10) % 16 = 3 THEN '{"reason":"password"}' ELSE NULL END
       FROM generate_series($4::bigint, $5::bigint) AS g`,
      [info.newestAt.toISOString(), step, info.bigInstanceId, start, end],
    );
    log?.(`audit entries ${start} to ${end} written`);
  }
}

/** Seeds the database at `url` unless its marker says it is; the seed's facts either way. */
export async function seedScale(url: string, log: (message: string) => void): Promise<SeedInfo> {
  await ensureDatabase(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_scale_seed (seeded_at timestamptz NOT NULL, big_instance_id varchar(36) NOT NULL)');
    const marker = await client.query<{ seeded_at: Date; big_instance_id: string }>('SELECT seeded_at, big_instance_id FROM bench_scale_seed');
    if (marker.rows[0] && process.env.BENCH_SCALE_RESEED !== '1') {
      log(`seeded already (${marker.rows[0].seeded_at.toISOString()}): reused`);
      return infoOf(marker.rows[0].seeded_at, marker.rows[0].big_instance_id);
    }
    // Migrates the fresh database too (a seeded one is migrated by the server as bench/scale.ts starts it, timed).
    const hash = await passwordHash(url);
    const started = performance.now();
    const seededAt = new Date();
    const bigInstanceId = '00000000-0000-7000-b000-000000000000';
    log('seeding: emptying the tables...');
    await client.query('TRUNCATE bench_scale_seed, auth_audit, instance_access, server_instances, accounts, oidc_models CASCADE');
    await client.query(
      `INSERT INTO accounts (id, username, username_key, display_name, email, password_hash, is_admin, disabled, failed_logins, locked_until, created_at, updated_at)
       VALUES ($1, $2, $2, 'Root', NULL, $3, true, false, 0, NULL, now(), now())`,
      [accountIdOf(0), ROOT_USERNAME, hash],
    );
    for (let start = 1; start <= ACCOUNTS; start += CHUNK) {
      const end = Math.min(ACCOUNTS, start + CHUNK - 1);
      // 1 in 1,000 disabled, 1 in 5,000 locked out for a day.
      await client.query(
        `INSERT INTO accounts (id, username, username_key, display_name, email, password_hash, is_admin, disabled, failed_logins, locked_until, created_at, updated_at)
         SELECT ${uuidOf('a000', 'n')}, 'user' || lpad(n::text, 7, '0'), 'user' || lpad(n::text, 7, '0'), 'User ' || n,
                'user' || n || '@example.org', $1, false, n % 1000 = 0, 0,
                CASE WHEN n % 5000 = 1 THEN now() + interval '1 day' END,
                now() - n * interval '30 seconds', now() - n * interval '30 seconds'
         FROM generate_series($2::int, $3::int) AS n`,
        [hash, start, end],
      );
      log(`accounts ${start} to ${end} written`);
    }
    // Instance n (0 the large one) as the server registers one; its secret is never used.
    await client.query(
      `INSERT INTO server_instances (id, name, name_key, client_id, secret_encrypted, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
                                     token_endpoint_auth_method, ip_allowlist, access_policy, skip_consent, created_at, updated_at)
       SELECT ${uuidOf('b000', 'n')}, 'Instance ' || n, 'instance ' || n, 'bench-instance-' || n, NULL, '["http://127.0.0.1:9/callback"]', '[]',
              '["authorization_code","refresh_token"]', 'openid profile email', 'client_secret_basic', '[]', 'open', true,
              now() - n * interval '1 hour', now() - n * interval '1 hour'
       FROM generate_series(0, ${INSTANCES - 1}) AS n`,
    );
    log(`${INSTANCES} instances written`);
    // Every account a member of one small instance, and of a second one: the large instance for the first BIG_MEMBERS.
    for (const second of [false, true]) {
      for (let start = 1; start <= ACCOUNTS; start += CHUNK) {
        const end = Math.min(ACCOUNTS, start + CHUNK - 1);
        const instance = second
          ? `CASE WHEN n <= ${BIG_MEMBERS} THEN $3 ELSE ${uuidOf('b000', `1 + (n + 499) % ${INSTANCES - 1}`)} END`
          : uuidOf('b000', `1 + n % ${INSTANCES - 1}`);
        await client.query(
          `INSERT INTO instance_access (instance_id, account_id, role, local_user_id, created_at)
           SELECT ${instance}, ${uuidOf('a000', 'n')}, 'member', NULL, now() - n * interval '10 seconds'
           FROM generate_series($1::int, $2::int) AS n`,
          second ? [start, end, bigInstanceId] : [start, end],
        );
        log(`access links ${second ? ACCOUNTS + start : start} to ${second ? ACCOUNTS + end : end} written`);
      }
    }
    await seedAuditRange(client, { newestAt: seededAt, bigInstanceId }, 0, AUDIT_ROWS, log);
    log('analyzing...');
    await client.query('ANALYZE');
    await client.query('INSERT INTO bench_scale_seed (seeded_at, big_instance_id) VALUES ($1, $2)', [seededAt, bigInstanceId]);
    log(`seeded in ${Math.round((performance.now() - started) / 1000)} s`);
    return infoOf(seededAt, bigInstanceId);
  } finally {
    await client.end();
  }
}
