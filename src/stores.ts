// Opens the database and Redis and builds the stores on them: what the CLI needs, without the OIDC provider.
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../config/index.js';
import { AccountStore } from './accounts/account-store.js';
import { PasswordHasher } from './accounts/password-hasher.js';
import { AuditLog } from './audit/audit-log.js';
import { openDatabase, type SchemaMode } from './db/data-source.js';
import { InstanceStore } from './instances/instance-store.js';
import { KeyStore } from './keys/key-store.js';
import { SecretBox } from './security/secret-box.js';

export interface Stores {
  config: Config;
  dataSource: DataSource;
  redis: Redis | undefined;
  secrets: SecretBox;
  accounts: AccountStore;
  instances: InstanceStore;
  keys: KeyStore;
  audit: AuditLog;
  hasher: PasswordHasher;
  close(): Promise<void>;
}

/**
 * Opens the database (see SchemaMode for what it does about migrations) and Redis, and builds the stores. Enough for
 * the CLI; `startServices` (services.ts) adds the provider.
 */
export async function openStores(config: Config, { schema }: { schema: SchemaMode }): Promise<Stores> {
  const dataSource = await openDatabase(config.database, { schema });
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 }) : undefined;
  try {
    await redis?.connect();
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const secrets = new SecretBox(config.secretKey);
  return {
    config,
    dataSource,
    redis,
    secrets,
    accounts: new AccountStore(dataSource),
    instances: new InstanceStore(dataSource, secrets),
    keys: new KeyStore(dataSource, secrets),
    audit: new AuditLog(dataSource),
    hasher: new PasswordHasher(config.argon2),
    async close() {
      redis?.disconnect();
      await dataSource.destroy();
    },
  };
}
