// The composition root of a running server: the stores (stores.ts) plus the OIDC provider and what serves it.
// main.ts and the tests start the server's parts through here; the CLI needs only stores.ts.
import type { Adapter, Provider } from 'oidc-provider';
import type { Config } from '../config/index.js';
import { createOidcStore, type OidcStore } from '../adapters/index.js';
import { EnrolmentTokenAdapter } from '../adapters/enrolment-tokens.js';
import { InstanceClientAdapter } from '../adapters/instances.js';
import { Authenticator } from './accounts/authenticator.js';
import { PasswordLinks } from './accounts/password-links.js';
import { PasswordPolicy } from './accounts/password-policy.js';
import { AccessOperations } from './admin/access-operations.js';
import { AccountOperations } from './admin/account-operations.js';
import { KeyOperations } from './admin/key-operations.js';
import { InstanceOperations } from './admin/instance-operations.js';
import { EnrolmentOperations } from './admin/enrolment-operations.js';
import { RegistrationOperations } from './admin/registration-operations.js';
import { announceProviderRevocations } from './revocations/provider-revocations.js';
import { RevocationFeed } from './revocations/revocation-feed.js';
import { AuditRetention } from './audit/audit-retention.js';
import type { Logger } from './logger.js';
import { AccessTokens } from './provider/access-tokens.js';
import { AccountSessions } from './provider/account-sessions.js';
import { createProvider } from './provider/create-provider.js';
import { LiveProvider } from './provider/live-provider.js';
import { AccessTokenSigner } from './keys/access-token-signer.js';
import { publicJwks, type PrivateJwk } from './keys/key-store.js';
import { KeySetWatch, rotationTimes } from './keys/key-set-watch.js';
import { LoginRateLimit } from './security/login-rate-limit.js';
import { limiterBackend, type LimiterBackend } from './security/rate-limiter-store.js';
import type { SchemaMode } from './db/data-source.js';
import { openStores, type Stores } from './stores.js';
import { checkRedisEviction } from './db/redis-eviction.js';
import { isStoreFailure } from './db/store-failure.js';

/** Seconds revocation events are kept beyond TOKEN_TTL. */
const REVOCATION_RETENTION_MARGIN = 300;

export interface Services extends Stores {
  oidcStore: OidcStore;
  /** The provider serving requests now: replaced when the signing keys change (see liveProvider). */
  readonly provider: Provider;
  liveProvider: LiveProvider;
  /** Follows signing_keys: advances rotations that are due, reloads the keys when they change. */
  keyWatch: KeySetWatch;
  /** This server's JWT access tokens, verified and checked for revocation without the provider. */
  accessTokens: AccessTokens;
  /** Signs the access tokens issued without the provider (src/provider/client-credentials-grant.ts). */
  accessTokenSigner: AccessTokenSigner;
  authenticator: Authenticator;
  /** The sessions and grants of an account, listed and ended (with back-channel logout). */
  accountSessions: AccountSessions;
  /** Every change to an account, with the sessions it ends and its audit entry. */
  accountOperations: AccountOperations;
  /** Who may use which instance, with what role and local id. */
  accessOperations: AccessOperations;
  /** Every change to an instance over its life (register, update, rotate its secret, delete), audited. */
  instanceOperations: InstanceOperations;
  /** What instances hear on their revocation streams (GET /revocations). */
  revocations: RevocationFeed;
  /** Enrolment tokens issued and withdrawn, audited. */
  enrolmentOperations: EnrolmentOperations;
  /** Signing-key rotations by hand, audited. */
  keyOperations: KeyOperations;
  passwordPolicy: PasswordPolicy;
  passwordLinks: PasswordLinks;
  /** Where every rate limiter keeps its counters: shared by all nodes (see rate-limiter-store.ts). */
  limiterBackend: LimiterBackend;
  loginRateLimit: LoginRateLimit;
  /** Now, in epoch milliseconds, for the deadlines kept in the stores' records (the refresh retry grace). */
  clock: () => number;
}

export interface ServiceOptions {
  schema: SchemaMode;
  /** Date.now unless a test moves time itself. */
  clock?: () => number;
}

export async function startServices(config: Config, logger: Logger, { schema, clock = Date.now }: ServiceOptions): Promise<Services> {
  return servicesOn(await openStores(config, { schema, logger }), logger, clock);
}

/** The services on stores already open, under their configuration (the CLI's: src/cli/context.ts). */
export async function servicesOn(stores: Stores, logger: Logger, clock: () => number = Date.now): Promise<Services> {
  const { config } = stores;
  if (stores.redis) await checkRedisEviction(stores.redis, logger);
  await stores.keys.ensureActiveKeys([config.algorithms.accessToken, config.algorithms.idToken]);
  const servedVersion = await stores.keys.version();
  const jwks = await stores.keys.privateJwks();
  const oidcStore = createOidcStore({ dataSource: stores.dataSource, redis: stores.redis, grantMarkSeconds: config.ttl.accessToken });
  const accessTokens = new AccessTokens({ issuer: config.issuer, publicKeys: publicJwks(jwks), store: oidcStore });
  const accessTokenSigner = new AccessTokenSigner(config.algorithms.accessToken, jwks);
  const limiters = limiterBackend(stores);
  const revocations = new RevocationFeed(stores.dataSource, {
    // Kept past TOKEN_TTL: a token revoked while an instance was away is still heard of when it comes back.
    retentionSeconds: config.ttl.accessToken + REVOCATION_RETENTION_MARGIN,
    onError: (err) => logger.error({ err }, 'revocation feed failed'),
  });
  const accountSessions: AccountSessions = new AccountSessions(() => liveProvider.current, oidcStore, revocations);
  const instanceOperations = new InstanceOperations({
    instances: stores.instances,
    sessions: accountSessions,
    audit: stores.audit,
    graceSeconds: config.clientSecretGraceSeconds,
    revocations,
  });
  const registrations = new RegistrationOperations({ enrolmentTokens: stores.enrolmentTokens, instances: stores.instances, instanceOperations });
  const clients = new InstanceClientAdapter(stores.instances, registrations);
  const enrolmentAdapter = new EnrolmentTokenAdapter(stores.enrolmentTokens);
  const modelAdapter = (name: string): Adapter => {
    if (name === 'Client') return clients;
    if (name === 'InitialAccessToken') return enrolmentAdapter;
    return new oidcStore.Adapter(name);
  };
  const providerWith = (keys: PrivateJwk[]) => {
    const provider = createProvider({
      config,
      logger,
      accounts: stores.accounts,
      instances: stores.instances,
      enrolmentTokens: stores.enrolmentTokens,
      audit: stores.audit,
      jwks: keys,
      adapter: modelAdapter,
    });
    announceProviderRevocations(provider, revocations);
    return provider;
  };
  const liveProvider = new LiveProvider(providerWith(jwks));
  const keyWatch = new KeySetWatch({
    keys: stores.keys,
    times: rotationTimes(config),
    intervalMs: config.keyRotation.checkIntervalSeconds * 1000,
    servedVersion,
    onChange: (keys) => {
      // Verification first: a token the new provider signs must never reach an introspection that cannot verify it.
      accessTokens.useKeys(publicJwks(keys));
      accessTokenSigner.useKeys(keys);
      liveProvider.replace(providerWith(keys));
      void revocations.announce([{ clientId: null, type: 'keys.changed' }]);
      logger.info({ kids: keys.map((key) => key.kid) }, 'signing keys reloaded');
    },
    // A store outage is logged once by its watch (src/db/store-watch.ts): the keys in use stay until it ends.
    onError: (err) => {
      if (!isStoreFailure(err)) logger.error({ err }, 'signing key check failed');
    },
  }).start();
  const authenticator = new Authenticator(stores.accounts, stores.hasher, config.lockout);
  const passwordPolicy = new PasswordPolicy(config.passwords.minLength);
  const passwordLinks = new PasswordLinks(stores.dataSource, config.passwords.setLinkTtl);
  const auditRetention = new AuditRetention(stores.audit, config.auditRetentionDays, {
    onError: (err) => logger.error({ err }, 'audit prune failed'),
  }).start();
  return {
    ...stores,
    oidcStore,
    get provider() {
      return liveProvider.current;
    },
    liveProvider,
    keyWatch,
    accessTokens,
    accessTokenSigner,
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
      instances: stores.instances,
      revocations,
    }),
    accessOperations: new AccessOperations({ accounts: stores.accounts, instances: stores.instances, sessions: accountSessions, audit: stores.audit, revocations }),
    revocations,
    instanceOperations,
    enrolmentOperations: new EnrolmentOperations({ enrolmentTokens: stores.enrolmentTokens, audit: stores.audit, issuer: config.issuer }),
    keyOperations: new KeyOperations(stores),
    passwordPolicy,
    passwordLinks,
    limiterBackend: limiters,
    loginRateLimit: new LoginRateLimit(limiters, config.loginRateLimit),
    clock,
    async close() {
      // The audit entries still being written (provider events are recorded in the background) go in before the
      // database closes.
      await keyWatch.stop();
      await revocations.close();
      await auditRetention.stop();
      await stores.audit.flush();
      limiters.close();
      await oidcStore.close();
      await stores.close();
    },
  };
}
