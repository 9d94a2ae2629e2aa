// The composition root: opens the database and Redis, builds every store and the provider, and closes them again.
// main.ts, the CLI and the tests all start the server's parts through here.
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Provider } from 'oidc-provider';
import type { Config } from '../config/index.js';
import { createOidcStore, type OidcStore } from '../adapters/index.js';
import { InstanceClientAdapter } from '../adapters/instances.js';
import { AccountStore } from './accounts/account-store.js';
import { Authenticator } from './accounts/authenticator.js';
import { PasswordHasher } from './accounts/password-hasher.js';
import { AuditLog } from './audit/audit-log.js';
import { openDatabase } from './db/data-source.js';
import { InstanceStore } from './instances/instance-store.js';
import { KeyStore } from './keys/key-store.js';
import type { Logger } from './logger.js';
import { AccessTokenRegistry } from './provider/access-token-registry.js';
import { createProvider } from './provider/create-provider.js';
import { LoginRateLimit } from './security/login-rate-limit.js';
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

export interface Services extends Stores {
  oidcStore: OidcStore;
  provider: Provider;
  registry: AccessTokenRegistry;
  authenticator: Authenticator;
  loginRateLimit: LoginRateLimit;
}

/**
 * Opens the database (migrating it when `migrate` is set, as the embedded default does at every start) and Redis,
 * and builds the stores. Enough for the CLI; `startServices` adds the provider.
 */
export async function openStores(config: Config, { migrate }: { migrate: boolean }): Promise<Stores> {
  const dataSource = await openDatabase(config.database, { migrate });
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

export async function startServices(config: Config, logger: Logger, { migrate }: { migrate: boolean }): Promise<Services> {
  const stores = await openStores(config, { migrate });
  await stores.keys.ensureActiveKeys([config.algorithms.accessToken, config.algorithms.idToken]);
  const jwks = await stores.keys.privateJwks();
  const publicKeys = { keys: jwks.map(({ kid, alg, use, kty, crv, x, y, n, e }) => ({ kid, alg, use, kty, crv, x, y, n, e })) };
  const registry = new AccessTokenRegistry(config.secretKey, config.issuer, publicKeys);
  const oidcStore = createOidcStore({ dataSource: stores.dataSource, redis: stores.redis });
  const clients = new InstanceClientAdapter(stores.instances);
  const provider = createProvider({
    config,
    logger,
    accounts: stores.accounts,
    instances: stores.instances,
    audit: stores.audit,
    registry,
    jwks,
    adapter: (name: string) => (name === 'Client' ? clients : new oidcStore.Adapter(name)),
  });
  return {
    ...stores,
    oidcStore,
    provider,
    registry,
    authenticator: new Authenticator(stores.accounts, stores.hasher, config.lockout),
    loginRateLimit: new LoginRateLimit(config.loginRateLimit, stores.redis),
    async close() {
      await oidcStore.close();
      await stores.close();
    },
  };
}
