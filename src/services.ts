// The composition root of a running server: the stores (stores.ts) plus the OIDC provider and what serves it.
// main.ts and the tests start the server's parts through here; the CLI needs only stores.ts.
import type { Adapter, Provider } from 'oidc-provider';
import type { Config } from '../config/index.js';
import { createOidcStore, type OidcStore } from '../adapters/index.js';
import { EnrolmentTokenAdapter } from '../adapters/enrolment-tokens.js';
import { InstanceClientAdapter } from '../adapters/instances.js';
import { Authenticator } from './accounts/authenticator.js';
import { PasskeyCeremonies, relyingPartyOf } from './accounts/passkey-ceremonies.js';
import { PasskeyChallenges } from './accounts/passkey-challenges.js';
import { PasskeyFactor } from './mfa/passkey-factor.js';
import { PasswordLinks } from './accounts/password-links.js';
import { PasswordPolicy } from './accounts/password-policy.js';
import { AccessOperations } from './admin/access-operations.js';
import { AccountOperations } from './admin/account-operations.js';
import { KeyOperations } from './admin/key-operations.js';
import { PasskeyOperations } from './admin/passkey-operations.js';
import { MfaOperations } from './admin/mfa-operations.js';
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
import { AccountMail } from './mail/account-mail.js';
import { EmailVerifications } from './mail/email-verifications.js';
import { KnownBrowsers } from './mail/known-browsers.js';
import { MailOutbox } from './mail/mail-outbox.js';
import { smtpTransport } from './mail/mail-transport.js';
import { MailWorker } from './mail/mail-worker.js';
import { PasswordReset } from './mail/password-reset.js';
import { SecondFactorSteps } from './interactions/second-factor-state.js';
import { RecoveryCodes } from './mfa/recovery-codes.js';
import { SecondFactorStore } from './mfa/second-factor-store.js';
import { SecondFactors } from './mfa/second-factors.js';
import { TotpFactor } from './mfa/totp-factor.js';

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
  /** Registering passkeys and signing in with them; null when the issuer's host is an IP address (no rpID possible). */
  passkeyCeremonies: PasskeyCeremonies | null;
  /** The sessions and grants of an account, listed and ended (with back-channel logout). */
  accountSessions: AccountSessions;
  /** Every change to an account, with the sessions it ends and its audit entry. */
  accountOperations: AccountOperations;
  /** Who may use which instance, with what role and local id. */
  accessOperations: AccessOperations;
  /** Every change to an instance over its life (register, update, rotate its secret, delete), audited. */
  instanceOperations: InstanceOperations;
  /** Registering and removing passkeys, audited. */
  passkeyOperations: PasskeyOperations;
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
  /** The second-factor kinds (src/mfa/factor-kind.ts) and each account's factors. */
  secondFactors: SecondFactors;
  /** Every change to an account's second factors (enrol, remove, new recovery codes, an admin's reset), audited. */
  mfaOperations: MfaOperations;
  /** Authenticator apps: enrolment and verification (also registered in secondFactors). */
  totp: TotpFactor;
  /** Sign-ins between their password and their second factor. */
  secondFactorSteps: SecondFactorSteps;
  /** Now, in epoch milliseconds, for the deadlines kept in the stores' records (the refresh retry grace). */
  clock: () => number;
  /** The durable outbox every mail goes through (src/mail/). */
  mailOutbox: MailOutbox;
  /** Mailed links, address verification and notices; `enabled` false without SMTP_URL. */
  accountMail: AccountMail;
  emailVerifications: EmailVerifications;
  /** "Forgot your password?" requests and the mails they become. */
  passwordReset: PasswordReset;
  /** Which accounts signed in from a browser before (a signed cookie), for the new-browser notice. */
  knownBrowsers: KnownBrowsers;
  /** This node's sender from the outbox: started by startServices when SMTP_URL is set (never by the CLI). */
  mailWorker: MailWorker | undefined;
}

export interface ServiceOptions {
  schema: SchemaMode;
  /** Date.now unless a test moves time itself. */
  clock?: () => number;
}

export async function startServices(config: Config, logger: Logger, { schema, clock = Date.now }: ServiceOptions): Promise<Services> {
  const services = await servicesOn(await openStores(config, { schema, logger }), logger, clock);
  if (!config.mail) return services;
  const worker = new MailWorker({
    dataSource: services.dataSource,
    outbox: services.mailOutbox,
    transport: smtpTransport(config.mail),
    prepare: services.passwordReset.prepare,
    site: { serverName: MAIL_SERVER_NAME, issuer: config.issuer },
    config: config.mail,
    clock,
    logger,
  }).start();
  logger.info({ relay: config.mail.relay, from: config.mail.from }, 'mail on: sending from the outbox');
  const close = services.close.bind(services);
  return Object.assign(services, {
    mailWorker: worker,
    async close() {
      // Mails in hand are sent or given back before the database closes.
      await worker.stop();
      await close();
    },
  });
}

/** The name mails are signed with. */
const MAIL_SERVER_NAME = 'ChillFi3 sign-in';

/** The services on stores already open, under their configuration (the CLI's: src/cli/context.ts). */
export async function servicesOn(stores: Stores, logger: Logger, clock: () => number = Date.now): Promise<Services> {
  const { config } = stores;
  if (stores.redis) await checkRedisEviction(stores.redis, logger);
  await stores.keys.ensureActiveKeys([config.algorithms.accessToken, config.algorithms.idToken]);
  const servedVersion = await stores.keys.version();
  const jwks = await stores.keys.privateJwks();
  const oidcStore = createOidcStore({
    dataSource: stores.dataSource,
    redis: stores.redis,
    grantMarkSeconds: config.ttl.accessToken,
    // WAIT holds up the shared connection while it waits: a quarter of the Redis time, so one missing replica slows
    // revocations (503) without stalling every other request behind them.
    waitReplicas: config.redis?.waitReplicas
      ? { count: config.redis.waitReplicas, timeoutMs: Math.max(10, Math.floor(config.storeTimeouts.redisMs / 4)) }
      : undefined,
  });
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
  const relyingParty = relyingPartyOf(config.issuer);
  const passkeyCeremonies = relyingParty ? new PasskeyCeremonies(stores.passkeys, new PasskeyChallenges(oidcStore), relyingParty) : null;
  const factorStore = new SecondFactorStore(stores.dataSource);
  const totp = new TotpFactor({ store: factorStore, secrets: stores.secrets, issuerLabel: new URL(config.issuer).host, clock });
  // Every kind of second factor the sign-in step offers (src/mfa/factor-kind.ts): a new kind is added here.
  const passkeyFactor = new PasskeyFactor({ passkeys: stores.passkeys, ceremonies: passkeyCeremonies, audit: stores.audit });
  const secondFactors = new SecondFactors(factorStore, new RecoveryCodes(stores.dataSource), [totp, passkeyFactor]);
  const passwordPolicy = new PasswordPolicy(config.passwords.minLength);
  const passwordLinks = new PasswordLinks(stores.dataSource, config.passwords.setLinkTtl);
  const mailOutbox = new MailOutbox(stores.dataSource, stores.secrets, clock);
  const emailVerifications = new EmailVerifications(stores.dataSource, stores.accounts, clock);
  const accountMail = new AccountMail({
    enabled: config.mail !== undefined,
    dataSource: stores.dataSource,
    outbox: mailOutbox,
    passwordLinks,
    verifications: emailVerifications,
    issuer: config.issuer,
    clock,
  });
  const auditRetention = new AuditRetention(stores.audit, config.auditRetentionDays, {
    onError: (err) => logger.error({ err }, 'audit prune failed'),
    onPruned: (deleted, ms) => logger.info({ deleted, ms }, 'audit entries past retention pruned'),
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
    passkeyCeremonies,
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
      mail: accountMail,
      instances: stores.instances,
      revocations,
    }),
    accessOperations: new AccessOperations({ accounts: stores.accounts, instances: stores.instances, sessions: accountSessions, audit: stores.audit, revocations }),
    revocations,
    instanceOperations,
    enrolmentOperations: new EnrolmentOperations({ enrolmentTokens: stores.enrolmentTokens, audit: stores.audit, issuer: config.issuer }),
    keyOperations: new KeyOperations(stores),
    passkeyOperations: new PasskeyOperations({ passkeys: stores.passkeys, ceremonies: passkeyCeremonies, secondFactors, audit: stores.audit }),
    passwordPolicy,
    passwordLinks,
    limiterBackend: limiters,
    loginRateLimit: new LoginRateLimit(limiters, config.loginRateLimit),
    secondFactors,
    mfaOperations: new MfaOperations({ accounts: stores.accounts, secondFactors, totp, sessions: accountSessions, audit: stores.audit }),
    totp,
    secondFactorSteps: new SecondFactorSteps(oidcStore),
    clock,
    mailOutbox,
    accountMail,
    emailVerifications,
    passwordReset: new PasswordReset({
      accounts: stores.accounts,
      passwordLinks,
      outbox: mailOutbox,
      audit: stores.audit,
      limiterBackend: limiters,
      issuer: config.issuer,
      // Without mail the page takes no request (src/web/forgot-password-routes.ts): the limits then are never used.
      limits: { perAccountPerHour: config.mail?.resetPerAccountPerHour ?? 1, perIpPerHour: config.mail?.resetPerIpPerHour ?? 1 },
      clock,
    }),
    knownBrowsers: new KnownBrowsers(config.secretKey),
    mailWorker: undefined,
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
