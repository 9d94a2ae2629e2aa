// Opens the database and Redis and builds the stores on them: what the CLI needs, without the OIDC provider.
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../config/index.js';
import { AccountStore } from './accounts/account-store.js';
import { FirstRunStore } from './accounts/first-run-store.js';
import { IssuerRecord } from './db/issuer-record.js';
import { PasskeyStore } from './accounts/passkey-store.js';
import { PasswordHasher } from './accounts/password-hasher.js';
import { AuditLog } from './audit/audit-log.js';
import { openDatabase, type SchemaMode } from './db/data-source.js';
import { connectRedis } from './db/redis-connection.js';
import { boundByRequestDeadlines } from './db/redis-deadline.js';
import { watchStore, type StoreWatch } from './db/store-watch.js';
import { EnrolmentTokens } from './instances/enrolment-tokens.js';
import { InstanceStore } from './instances/instance-store.js';
import { KeyStore } from './keys/key-store.js';
import type { Logger } from './logger.js';
import { SecretBox } from './security/secret-box.js';

export interface Stores {
  config: Config;
  dataSource: DataSource;
  redis: Redis | undefined;
  secrets: SecretBox;
  accounts: AccountStore;
  /** The accounts' passkeys (WebAuthn credentials). */
  passkeys: PasskeyStore;
  /** Whether the server has its first admin yet; the setup tokens until it does. */
  firstRun: FirstRunStore;
  /** The issuer the server runs under, recorded at its start for the CLI. */
  issuerRecord: IssuerRecord;
  instances: InstanceStore;
  /** The tokens that let a new instance register itself (RFC 7591). */
  enrolmentTokens: EnrolmentTokens;
  keys: KeyStore;
  audit: AuditLog;
  hasher: PasswordHasher;
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  schema: SchemaMode;
  /** The server's: its stores are watched, each outage logged once (store-watch.ts). The CLI passes none. */
  logger?: Logger;
}

/** The shared stores of a server (the embedded SQLite file is a local file, not one that can go away). */
function watchServerStores(dataSource: DataSource, redis: Redis | undefined, logger: Logger): StoreWatch[] {
  const watches: StoreWatch[] = [];
  if (dataSource.options.type === 'postgres') {
    watches.push(watchStore({ name: 'database', ping: () => dataSource.query('SELECT 1') }, logger));
  }
  if (redis) {
    const watch = watchStore({ name: 'redis', ping: () => redis.ping() }, logger);
    redis.on('error', watch.failed);
    watches.push(watch);
  }
  return watches;
}

/**
 * Opens the database (see SchemaMode for what it does about migrations) and Redis, and builds the stores. Enough for
 * the CLI; `startServices` (services.ts) adds the provider. Both connections wait at most their configured timeouts.
 */
export async function openStores(config: Config, { schema, logger }: OpenStoresOptions): Promise<Stores> {
  const { databaseMs, redisMs } = config.storeTimeouts;
  const dataSource = await openDatabase(config.database, { schema, timeoutMs: databaseMs });
  let redis: Redis | undefined;
  try {
    redis = config.redis ? boundByRequestDeadlines(await connectRedis(config.redis, redisMs)) : undefined;
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const watches = logger ? watchServerStores(dataSource, redis, logger) : [];
  const secrets = new SecretBox(config.secretKey, config.previousSecretKeys);
  return {
    config,
    dataSource,
    redis,
    secrets,
    accounts: new AccountStore(dataSource),
    passkeys: new PasskeyStore(dataSource),
    firstRun: new FirstRunStore(dataSource),
    issuerRecord: new IssuerRecord(dataSource),
    instances: new InstanceStore(dataSource, secrets),
    enrolmentTokens: new EnrolmentTokens(dataSource),
    keys: new KeyStore(dataSource, secrets),
    audit: new AuditLog(dataSource),
    hasher: new PasswordHasher(config.argon2),
    async close() {
      for (const watch of watches) watch.close();
      redis?.disconnect();
      await dataSource.destroy();
    },
  };
}
