import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * The indexes every list and filter reads at a million accounts and ten million audit entries (docs/operations.md,
 * "Sizing"): the audit trail ordered by (at, id) on its own and after each filter (account, instance, action), so that
 * a page and its cursor (`(at, id) < (X, Y)`) are one index range, and the failed sign-ins alone (the dashboard's last
 * day of them and of lockouts); accounts by username key in byte order and by the
 * start of their lower-cased display name and email (the search), and the few admins, disabled and locked accounts (the
 * dashboard counts them).
 *
 * On PostgreSQL each index is built CONCURRENTLY, outside a transaction (this migration sets `transaction = false`):
 * the tables stay readable and writable while it builds, however large they are, and the build is not held to the
 * statement timeout requests are (AUTH_DB_TIMEOUT_MS). An index whose build was cut short is
 * left INVALID; IF NOT EXISTS would then skip it, so `up` drops an invalid one first and builds it again. Text columns
 * are indexed with pattern operators (`varchar_pattern_ops`, `text_pattern_ops`) or COLLATE "C", whatever the database's
 * collation: a `LIKE 'prefix%'` can then use them. On SQLite, plain indexes of the same columns, in the usual way.
 */
export class ScaleIndexes1764950000000 implements MigrationInterface {
  name = 'ScaleIndexes1764950000000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') {
      for (const [name, definition] of POSTGRES_INDEXES) await buildConcurrently(queryRunner, name, definition);
      for (const name of REPLACED) await unbounded(queryRunner, `DROP INDEX CONCURRENTLY IF EXISTS "${name}"`);
      // The planner knows an expression index's values only once the table is analyzed: until then it guesses a
      // search matches 1 % of the accounts and reads them in username order instead (half a second at a million).
      await unbounded(queryRunner, 'ANALYZE accounts');
      return;
    }
    for (const [table, index] of sqliteIndexes()) await queryRunner.createIndex(table, index);
    for (const name of REPLACED) await queryRunner.query(`DROP INDEX IF EXISTS "${name}"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    // TypeORM undoes a migration in a transaction unless told not to (transaction: 'none'): CONCURRENTLY only outside.
    const concurrently = postgres && !queryRunner.isTransactionActive ? 'CONCURRENTLY ' : '';
    const run = (sql: string) => (postgres ? unbounded(queryRunner, sql) : queryRunner.query(sql));
    await run(`CREATE INDEX ${concurrently}IF NOT EXISTS "auth_audit_at" ON "auth_audit" ("at")`);
    await run(`CREATE INDEX ${concurrently}IF NOT EXISTS "auth_audit_account" ON "auth_audit" ("account_id", "at")`);
    const names = postgres ? POSTGRES_INDEXES.map(([name]) => name) : sqliteIndexes().map(([, index]) => index.name as string);
    for (const name of names) await run(`DROP INDEX ${concurrently}IF EXISTS "${name}"`);
  }
}

/** The indexes of the first schema that these take over (`at` alone; account and `at` without `id`). */
const REPLACED = ['auth_audit_at', 'auth_audit_account'];

const POSTGRES_INDEXES: [string, string][] = [
  ['auth_audit_at_id', 'auth_audit (at, id)'],
  ['auth_audit_account_at_id', 'auth_audit (account_id, at, id)'],
  ['auth_audit_instance_at_id', 'auth_audit (instance_id, at, id)'],
  ['auth_audit_action_at_id', 'auth_audit (action varchar_pattern_ops, at, id)'],
  ['auth_audit_failed_logins', "auth_audit (at, id) WHERE action = 'login' AND outcome = 'failure'"],
  ['accounts_username_key_bytes', 'accounts (username_key COLLATE "C")'],
  ['accounts_display_name_prefix', 'accounts (lower(display_name) text_pattern_ops)'],
  ['accounts_email_prefix', 'accounts (lower(email) text_pattern_ops)'],
  ['accounts_admins', 'accounts (id) WHERE is_admin'],
  ['accounts_disabled', 'accounts (id) WHERE disabled'],
  ['accounts_locked', 'accounts (locked_until) WHERE locked_until IS NOT NULL'],
];

/** The longest one index build may take (ten million audit entries take about a minute on two cores). */
const BUILD_LIMIT_MS = 6 * 3_600_000;

/** node-postgres' connection, as the query runner holds it: a statement may be given its own client-side timeout. */
interface PgConnection {
  query(config: { text: string; query_timeout: number }): Promise<unknown>;
}

/**
 * Runs a statement that may take as long as an index build takes: the server's statement_timeout and the client's
 * query_timeout (AUTH_DB_TIMEOUT_MS, for requests) are lifted for it alone, on the migration's own connection.
 */
async function unbounded(queryRunner: QueryRunner, sql: string): Promise<void> {
  const connection = (await queryRunner.connect()) as PgConnection;
  await connection.query({ text: 'SET statement_timeout = 0', query_timeout: BUILD_LIMIT_MS });
  try {
    await connection.query({ text: sql, query_timeout: BUILD_LIMIT_MS });
  } finally {
    await connection.query({ text: 'RESET statement_timeout', query_timeout: BUILD_LIMIT_MS });
  }
}

/** Builds the index without blocking writes; an invalid leftover of an interrupted build is dropped and built again. */
async function buildConcurrently(queryRunner: QueryRunner, name: string, definition: string): Promise<void> {
  const invalid = (await queryRunner.query(
    'SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid WHERE pg_class.relname = $1 AND NOT pg_index.indisvalid',
    [name],
  )) as unknown[];
  if (invalid.length > 0) await unbounded(queryRunner, `DROP INDEX CONCURRENTLY IF EXISTS "${name}"`);
  await unbounded(queryRunner, `CREATE INDEX CONCURRENTLY IF NOT EXISTS "${name}" ON ${definition}`);
}

function sqliteIndexes(): [string, TableIndex][] {
  return [
    ['auth_audit', new TableIndex({ name: 'auth_audit_at_id', columnNames: ['at', 'id'] })],
    ['auth_audit', new TableIndex({ name: 'auth_audit_account_at_id', columnNames: ['account_id', 'at', 'id'] })],
    ['auth_audit', new TableIndex({ name: 'auth_audit_instance_at_id', columnNames: ['instance_id', 'at', 'id'] })],
    ['auth_audit', new TableIndex({ name: 'auth_audit_action_at_id', columnNames: ['action', 'at', 'id'] })],
    ['auth_audit', new TableIndex({ name: 'auth_audit_failed_logins', columnNames: ['at', 'id'], where: "action = 'login' AND outcome = 'failure'" })],
    ['accounts', new TableIndex({ name: 'accounts_admins', columnNames: ['id'], where: 'is_admin = 1' })],
    ['accounts', new TableIndex({ name: 'accounts_disabled', columnNames: ['id'], where: 'disabled = 1' })],
    ['accounts', new TableIndex({ name: 'accounts_locked', columnNames: ['locked_until'], where: 'locked_until IS NOT NULL' })],
  ];
}
