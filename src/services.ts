// The composition root of a running server: the stores (stores.ts) plus the OIDC provider and what serves it.
// main.ts and the tests start the server's parts through here; the CLI needs only stores.ts.
import type { Provider } from 'oidc-provider';
import type { Config } from '../config/index.js';
import { createOidcStore, type OidcStore } from '../adapters/index.js';
import { InstanceClientAdapter } from '../adapters/instances.js';
import { Authenticator } from './accounts/authenticator.js';
import { PasswordLinks } from './accounts/password-links.js';
import { PasswordPolicy } from './accounts/password-policy.js';
import { AccessOperations } from './admin/access-operations.js';
import { AccountOperations } from './admin/account-operations.js';
import { AuditRetention } from './audit/audit-retention.js';
import type { Logger } from './logger.js';
import { AccessTokenRegistry } from './provider/access-token-registry.js';
import { AccountSessions } from './provider/account-sessions.js';
import { createProvider } from './provider/create-provider.js';
import { LoginRateLimit } from './security/login-rate-limit.js';
import { limiterBackend, type LimiterBackend } from './security/rate-limiter-store.js';
import type { SchemaMode } from './db/data-source.js';
import { openStores, type Stores } from './stores.js';
import { checkRedisEviction } from './db/redis-eviction.js';

export interface Services extends Stores {
  oidcStore: OidcStore;
  provider: Provider;
  registry: AccessTokenRegistry;
  authenticator: Authenticator;
  /** The sessions and grants of an account, listed and ended (with back-channel logout). */
  accountSessions: AccountSessions;
  /** Every change to an account, with the sessions it ends and its audit entry. */
  accountOperations: AccountOperations;
  /** Who may use which instance, with what role and local id. */
  accessOperations: AccessOperations;
  passwordPolicy: PasswordPolicy;
  passwordLinks: PasswordLinks;
  /** Where every rate limiter keeps its counters: shared by all nodes (see rate-limiter-store.ts). */
  limiterBackend: LimiterBackend;
  loginRateLimit: LoginRateLimit;
}

export async function startServices(config: Config, logger: Logger, { schema }: { schema: SchemaMode }): Promise<Services> {
  const stores = await openStores(config, { schema, logger });
  if (stores.redis) await checkRedisEviction(stores.redis, logger);
  await stores.keys.ensureActiveKeys([config.algorithms.accessToken, config.algorithms.idToken]);
  const jwks = await stores.keys.privateJwks();
  const publicKeys = { keys: jwks.map(({ kid, alg, use, kty, crv, x, y, n, e }) => ({ kid, alg, use, kty, crv, x, y, n, e })) };
  const registry = new AccessTokenRegistry(config.secretKey, config.issuer, publicKeys);
  const oidcStore = createOidcStore({ dataSource: stores.dataSource, redis: stores.redis });
  const limiters = limiterBackend(stores);
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
  const authenticator = new Authenticator(stores.accounts, stores.hasher, config.lockout);
  const accountSessions = new AccountSessions(provider, oidcStore);
  const passwordPolicy = new PasswordPolicy(config.passwords.minLength);
  const passwordLinks = new PasswordLinks(stores.dataSource, config.passwords.setLinkTtl);
  const auditRetention = new AuditRetention(stores.audit, config.auditRetentionDays, {
    onError: (err) => logger.error({ err }, 'audit prune failed'),
  }).start();
  return {
    ...stores,
    oidcStore,
    provider,
    registry,
    authenticator,
    accountSessions,
    accountOperations: new AccountOperations({
      accounts: stores.accounts,
      authenticator,
      hasher: stores.hasher,
      policy: passwordPolicy,
      passwordLinks,
      sessions: accountSessions,
      audit: stores.audit,
      issuer: config.issuer,
    }),
    accessOperations: new AccessOperations({ accounts: stores.accounts, instances: stores.instances, sessions: accountSessions, audit: stores.audit }),
    passwordPolicy,
    passwordLinks,
    limiterBackend: limiters,
    loginRateLimit: new LoginRateLimit(limiters, config.loginRateLimit),
    async close() {
      // The audit entries still being written (provider events are recorded in the background) go in before the
      // database closes.
      await auditRetention.stop();
      await stores.audit.flush();
      limiters.close();
      await oidcStore.close();
      await stores.close();
    },
  };
}
