import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../../config/index.js';
import { migrations } from '../../migrations/index.js';
import { AccountEntity } from '../accounts/account-entity.js';
import { SetupLockEntity, SetupTokenEntity } from '../accounts/first-run-entities.js';
import { PasswordLinkEntity } from '../accounts/password-link-entity.js';
import { PasskeyEntity } from '../accounts/passkey-entity.js';
import { AuditEventEntity } from '../audit/audit-event-entity.js';
import { InstanceAccessEntity } from '../instances/instance-access-entity.js';
import { EnrolmentTokenEntity } from '../instances/enrolment-token-entity.js';
import { InstanceEntity } from '../instances/instance-entity.js';
import { SigningKeyEntity } from '../keys/signing-key-entity.js';
import { RevocationEventEntity } from '../revocations/revocation-event-entity.js';
import { ServerSettingEntity } from './server-setting-entity.js';
import { EmailVerificationEntity } from '../mail/email-verification-entity.js';
import { OutboxEntity } from '../mail/outbox-entity.js';
import { RecoveryCodeEntity, SecondFactorEntity } from '../mfa/second-factor-entity.js';
import { StoredModelEntity } from '../../adapters/sql-model-entity.js';
import { AppError } from '../errors.js';
import { CLIENT_WAIT_MARGIN_MS, deadlinePg } from './postgres-deadline.js';

const entities = [
  AccountEntity,
  PasswordLinkEntity,
  PasskeyEntity,
  SetupTokenEntity,
  SetupLockEntity,
  ServerSettingEntity,
  InstanceEntity,
  InstanceAccessEntity,
  EnrolmentTokenEntity,
  SigningKeyEntity,
  AuditEventEntity,
  RevocationEventEntity,
  StoredModelEntity,
  OutboxEntity,
  EmailVerificationEntity,
  SecondFactorEntity,
  RecoveryCodeEntity,
];

export interface DataSourceOptions {
  /**
   * PostgreSQL: longest wait for a connection and for one statement (AUTH_DB_TIMEOUT_MS); unset, no limit. Within a
   * request, what is left of the request's database time bounds each of them (postgres-deadline.ts).
   */
  timeoutMs?: number | undefined;
}

/** One TypeORM DataSource for PostgreSQL or the embedded SQLite file. Never synchronizes: migrations only. */
export function createDataSource(database: DatabaseConfig, { timeoutMs }: DataSourceOptions = {}): DataSource {
  if (database.type === 'postgres') {
    const timeouts =
      timeoutMs === undefined
        ? {}
        : { connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs, query_timeout: timeoutMs + CLIENT_WAIT_MARGIN_MS };
    return new DataSource({
      type: 'postgres',
      url: database.url,
      entities,
      migrations,
      synchronize: false,
      migrationsTransactionMode: 'each',
      driver: deadlinePg,
      // node-postgres Pool and Client options.
      extra: { max: 20, ...timeouts },
    });
  }
  if (database.file !== ':memory:') mkdirSync(dirname(database.file), { recursive: true });
  return new DataSource({
    type: 'better-sqlite3',
    database: database.file,
    entities,
    migrations,
    synchronize: false,
    migrationsTransactionMode: 'each',
    enableWAL: true,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
    },
  });
}

/** What opening the database does about migrations: run them, insist none is pending, or leave the schema be. */
export type SchemaMode = 'migrate' | 'require-current' | 'as-is';

/** The embedded database migrates itself at every start; PostgreSQL is migrated by `chillfi3-auth migrate`. */
export function schemaModeFor(database: DatabaseConfig): SchemaMode {
  return database.type === 'sqlite' ? 'migrate' : 'require-current';
}

export async function openDatabase(
  database: DatabaseConfig,
  { schema, timeoutMs }: { schema: SchemaMode } & DataSourceOptions,
): Promise<DataSource> {
  const dataSource = createDataSource(database, { timeoutMs });
  await dataSource.initialize();
  if (schema === 'migrate') await dataSource.runMigrations();
  if (schema === 'require-current' && (await dataSource.showMigrations())) {
    await dataSource.destroy();
    throw new AppError('not_migrated', 'the database has pending migrations: run "chillfi3-auth migrate" first', {
      status: 503,
      expose: true,
    });
  }
  return dataSource;
}
