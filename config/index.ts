// The only reader of process.env. Every key is described here beside its default, validated once at start,
// and handed to the rest of the server as a frozen, typed Config. The README's configuration table mirrors it.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { parseSender } from '../src/mail/mail-address.js';

/** The file beside the embedded database that keeps the secret generated when AUTH_SECRET_KEY is unset. */
const GENERATED_SECRET_FILE = 'secret.key';
const MIN_SECRET_LENGTH = 32;
const HOW_TO_MAKE_A_SECRET = 'make one with: openssl rand -base64 48';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** AUTH_TRUST_PROXY: false, a hop count, or proxy addresses/CIDRs (as proxy-addr reads them; checked here). */
const trustedProxies = z
  .string()
  .trim()
  .transform((value, context): TrustedProxies => {
    if (value === '' || value === 'false' || value === '0') return false;
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim());
    try {
      proxyaddr.compile(entries);
    } catch {
      context.addIssue({
        code: 'custom',
        message: 'must be false, a hop count (e.g. 1) or a comma list of proxy addresses/CIDRs (e.g. 10.0.0.2,172.16.0.0/12)',
      });
      return z.NEVER;
    }
    return Object.freeze(entries);
  });

/** A comma list of host:port (Sentinel or Cluster nodes). */
const hostPorts = z
  .string()
  .trim()
  .transform((value, context): readonly HostPort[] => {
    const nodes = value.split(',').map((entry) => /^\[?([^\s\]]+?)\]?:(\d{1,5})$/.exec(entry.trim()));
    if (value === '' || nodes.some((node) => !node || Number(node[2]) < 1 || Number(node[2]) > 65535)) {
      context.addIssue({ code: 'custom', message: 'must be a comma list of host:port (e.g. redis-1:26379,redis-2:26379)' });
      return z.NEVER;
    }
    return Object.freeze(nodes.map((node) => Object.freeze({ host: node![1]!, port: Number(node![2]) })));
  });

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Who may speak for the client in X-Forwarded-For: nobody, the nearest N hops, or these addresses. */
export type TrustedProxies = false | number | readonly string[];

const signingAlgorithm = z.enum(['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA']);

const schema = z.object({
  // Runtime mode. "production" turns on the refusal of default secrets.
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  // TCP port the server listens on (the plan's AUTH_PORT).
  AUTH_PORT: integer(0, 65535).default(3001),
  // Address to bind. 0.0.0.0 listens on every interface.
  AUTH_HOST: z.string().min(1).default('0.0.0.0'),
  // Public base URL of this server: the OIDC issuer. Defaults to http://localhost:AUTH_PORT.
  AUTH_ISSUER: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  // Full database URL (postgres://user:pass@host:port/db). Unset with no AUTH_DB_HOST: embedded SQLite.
  AUTH_DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  // The plan's split PostgreSQL settings, used when AUTH_DATABASE_URL is unset and AUTH_DB_HOST is set.
  AUTH_DB_HOST: optionalString,
  AUTH_DB_PORT: integer(1, 65535).default(5432),
  AUTH_DB_NAME: z.string().min(1).default('chillfi3_auth'),
  AUTH_DB_USER: z.string().min(1).default('postgres'),
  AUTH_DB_PASSWORD: optionalString,
  // Folder of the embedded SQLite file (auth.sqlite) when no PostgreSQL is configured.
  AUTH_DATA_DIR: z.string().min(1).default('./data'),
  // Redis URL for sessions, grants, tokens and counters. Unset: they live in the SQL database.
  AUTH_REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
  // Redis behind Sentinel instead of AUTH_REDIS_URL: the sentinels as a comma list of host:port, the name of the
  // primary they watch, and their password if they require one (the data nodes' password is AUTH_REDIS_PASSWORD).
  // The connection follows a failover by itself (docs/operations.md, "Redis with Sentinel").
  AUTH_REDIS_SENTINELS: hostPorts.optional(),
  AUTH_REDIS_SENTINEL_NAME: z.string().trim().min(1).default('mymaster'),
  AUTH_REDIS_SENTINEL_PASSWORD: optionalString,
  // Redis Cluster instead of AUTH_REDIS_URL: some of its nodes (host:port, comma list); the others are discovered.
  AUTH_REDIS_CLUSTER_NODES: hostPorts.optional(),
  // Password of the Redis data nodes with AUTH_REDIS_SENTINELS or AUTH_REDIS_CLUSTER_NODES (AUTH_REDIS_URL carries its own).
  AUTH_REDIS_PASSWORD: optionalString,
  // Put before every key this server writes in Redis, so that several deployments can share one Redis without sharing
  // sessions or counters (e.g. `staging:`). Letters, digits and : . _ - only (no hash-tag braces).
  AUTH_REDIS_PREFIX: z
    .string()
    .trim()
    .max(64)
    .regex(/^[\w:.-]*$/, 'letters, digits and : . _ - only')
    .default(''),
  // Replicas that must hold a revocation (a revoked grant or token, a signed-out account's sessions) before the server
  // confirms it (Redis WAIT, at most a quarter of AUTH_REDIS_TIMEOUT_MS; fewer: 503, and the caller tries again). With Sentinel,
  // 1 keeps a failover from bringing back what was revoked. 0: confirmed once the primary has it.
  AUTH_REDIS_WAIT_REPLICAS: integer(0, 16).default(0),
  // How long a request may wait on PostgreSQL, in milliseconds, in all: connections from the pool and statements share
  // it, each bounded by what is left (src/db/store-budget.ts). Past it the request is answered 503
  // temporarily_unavailable instead of waiting. Also the server's statement_timeout, and the bound of each connection
  // and statement outside requests, migrations included: raise it for a long migration.
  AUTH_DB_TIMEOUT_MS: integer(100, 600_000).default(2000),
  // How long a request may wait on Redis, in milliseconds, in all its commands; past it, 503. Also the bound of the
  // connection and of each command outside requests. While Redis is disconnected commands fail at once (no offline
  // queue) and the connection is retried in the background.
  AUTH_REDIS_TIMEOUT_MS: integer(100, 600_000).default(1000),
  // Master secret (>= 32 characters): encrypts client secrets and signing keys at rest, derives cookie keys. Required
  // with PostgreSQL and in production. Unset on the embedded default: a random one is generated on first start and
  // kept beside the database (AUTH_DATA_DIR/secret.key, mode 0600); back it up with the database.
  AUTH_SECRET_KEY: z
    .string()
    .optional()
    .transform((value) => value || undefined)
    .pipe(z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional()),
  // The master secrets AUTH_SECRET_KEY replaced, comma-separated (each >= 32 characters), while it is being rotated:
  // values sealed under them still open, cookies signed with them still verify, and the shadow records of access
  // tokens issued under them are still found. Everything new uses AUTH_SECRET_KEY. Run `chillfi3-auth secrets reseal`,
  // wait one TOKEN_TTL, then drop them (docs/operations.md). Unset: none.
  AUTH_SECRET_KEY_PREVIOUS: optionalString.transform((value, context) => {
    const secrets = value === undefined ? [] : value.split(',').map((secret) => secret.trim());
    if (secrets.some((secret) => secret.length < MIN_SECRET_LENGTH)) {
      context.addIssue({ code: 'custom', message: `each comma-separated value must be at least ${MIN_SECRET_LENGTH} characters` });
    }
    return Object.freeze(secrets);
  }),
  // Access token lifetime in seconds (the plan's 15 minutes).
  TOKEN_TTL: integer(60, 86_400).default(900),
  // Refresh token lifetime in seconds (the plan's 7 days). Refresh tokens rotate on every use.
  REFRESH_TTL: integer(300, 31_536_000).default(604_800),
  // Seconds after a refresh during which the same refresh token, presented again by the same client, gets the answer's
  // refresh token again instead of counting as reuse (which revokes the whole grant): a client whose answer was lost
  // (a node or connection gone mid-refresh) retries without being signed out. Within it a thief replaying a token
  // just used gets that same successor too, and is caught only when the two of them use it (docs/operations.md).
  // 0 turns it off: any second use revokes.
  REFRESH_RETRY_GRACE_SECONDS: integer(0, 60).default(10),
  // ID token lifetime in seconds.
  ID_TOKEN_TTL: integer(60, 86_400).default(3600),
  // Single sign-on session lifetime in seconds.
  SESSION_TTL: integer(300, 31_536_000).default(1_209_600),
  // Failed password attempts on one account before it locks.
  // Shortest password accepted when one is set (NIST SP 800-63B: at least 8). The longest is fixed at 1024 characters.
  PASSWORD_MIN_LENGTH: integer(8, 128).default(8),
  // How long an admin-issued set-password link stays usable, in seconds (one use).
  SET_PASSWORD_LINK_TTL: integer(300, 2_592_000).default(86_400),
  MAX_LOGIN_ATTEMPTS: integer(1, 1000).default(5),
  // `true`: the server's admins must sign in with a second factor (authenticator app, passkey) to use the console and
  // any token with the `admin` scope; one who has none yet is walked through enrolment at sign-in. Default false.
  MFA_REQUIRED_FOR_ADMINS: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  // How long a locked account stays locked, in seconds.
  LOCKOUT_DURATION: integer(1, 86_400).default(300),
  // Failed sign-ins allowed per client IP per 15 minutes, whatever the account (successful ones do not count).
  LOGIN_RATE_LIMIT: integer(1, 100_000).default(50),
  // The reverse proxies in front of the server, whose X-Forwarded-* headers are believed: `false` (none), a hop count
  // (the number of proxies in front, e.g. 1), or a comma list of their addresses and CIDRs. The client address is the
  // rightmost X-Forwarded-For entry that is not a trusted proxy; requests from elsewhere have their X-Forwarded-* dropped.
  AUTH_TRUST_PROXY: trustedProxies.default(false),
  // Failed client authentications (wrong secret or assertion, unknown client, refused address) allowed per 15 minutes
  // from one address, and from one address for one instance; past either, that caller gets 429 until the window ends.
  // An instance proving its own credentials is held to its per-instance budget only (docs/operations.md).
  CLIENT_AUTH_FAILURES_PER_IP: integer(1, 100_000).default(50),
  CLIENT_AUTH_FAILURES_PER_CLIENT: integer(1, 100_000).default(10),
  // Seconds an instance's previous client secret keeps working after its secret is rotated (CLI or admin API), so that
  // a running instance can switch to the new one without downtime; 0 stops the old one at once.
  CLIENT_SECRET_GRACE_SECONDS: integer(0, 2_592_000).default(86_400),
  // Seconds between the comment lines that keep a quiet revocation stream (GET /revocations) open through proxies.
  REVOCATION_HEARTBEAT_SECONDS: integer(1, 3600).default(15),
  // PEM files for HTTPS (TLS 1.3 minimum). Both or neither.
  AUTH_TLS_CERT: optionalString,
  AUTH_TLS_KEY: optionalString,
  // Worker processes (node:cluster). 1 runs in-process.
  AUTH_WORKERS: integer(1, 64).default(1),
  // Seconds a stop (SIGTERM, SIGINT) may take: the server stops accepting, answers the requests in flight, ends every
  // keep-alive connection, closes the database and Redis and exits 0. Past it, requests still running are cut off
  // and it exits 1. Keep it below the orchestrator's own limit (Kubernetes terminationGracePeriodSeconds, systemd
  // TimeoutStopSec). With AUTH_WORKERS > 1 each worker keeps it; the primary kills a worker 2 s past it.
  AUTH_SHUTDOWN_TIMEOUT: integer(1, 3600).default(10),
  // Days the audit trail (auth_audit) keeps an entry; older ones are deleted hourly by every running server and by
  // `chillfi3-auth audit prune`. 0 keeps entries forever.
  AUDIT_RETENTION_DAYS: integer(0, 36_500).default(365),
  // pino log level. `info` includes one access-log line per request; `warn` and above leave them out.
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // How log lines look: `json` (one JSON object per line, for collectors), `pretty` (time, level, message and
  // key=value fields, for a person), or `auto`: pretty when stdout is a terminal, JSON otherwise.
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  // Port of the Prometheus metrics listener (GET /metrics), apart from the public port so that metrics are not public.
  // Unset: no metrics listener. With AUTH_WORKERS > 1 the primary serves the sum of every worker's metrics.
  AUTH_METRICS_PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(0).max(65535).optional()),
  // Address the metrics listener binds. The loopback default keeps it to this host (a local Prometheus or agent).
  AUTH_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // Days an active signing key signs before every node stages its replacement on its own (the same as
  // `chillfi3-auth keys rotate`). 0: keys rotate only when told to.
  AUTH_KEY_ROTATION_DAYS: integer(0, 3650).default(0),
  // Seconds a new signing key is published in the JWKS before it signs anything, so that every verifier's cached key
  // set holds it first. At least the longest JWKS cache of the instances and other relying parties: the SDK refreshes
  // after 10 minutes (jwksMaxAgeSeconds), as jose's createRemoteJWKSet does (cacheMaxAge); both also refetch at once
  // for an unknown kid. The default leaves room for relying parties that cache longer.
  AUTH_KEY_PUBLISH_DELAY: integer(0, 2_592_000).default(3600),
  // Seconds between two checks of the signing key set by each node: a rotation or retirement made by the CLI or
  // another node is picked up (served, signed with) within this time, without a restart.
  AUTH_KEY_CHECK_INTERVAL: integer(1, 3600).default(5),
  // JWS algorithm of access tokens (RFC 9068). ES256 is the fastest to sign on common hardware.
  ACCESS_TOKEN_ALG: signingAlgorithm.default('ES256'),
  // JWS algorithm of ID tokens. RS256 is the one every relying party supports.
  ID_TOKEN_ALG: signingAlgorithm.default('RS256'),
  // Mail relay (docs/operations.md, "Mail"): smtp://host:port (STARTTLS when the relay offers it) or smtps://host:port
  // (TLS from the start), user and password in the URL or in SMTP_USER/SMTP_PASSWORD. Unset: no mail at all; the
  // pages that would send one say to ask an admin instead.
  SMTP_URL: optionalString.pipe(z.url({ protocol: /^smtps?$/ }).optional()),
  SMTP_USER: optionalString,
  SMTP_PASSWORD: optionalString,
  // false accepts a relay's self-signed or otherwise unverifiable certificate (a relay on a private network).
  SMTP_TLS_REJECT_UNAUTHORIZED: z.enum(['true', 'false']).default('true'),
  // The sender of every mail: an address, optionally with a name ("ChillFi3 <auth@example.org>"). Default:
  // no-reply@ the issuer's host name.
  MAIL_FROM: optionalString,
  // "Forgot your password?" requests allowed per hour for one username or address typed, and from one client address;
  // past either, 429 until the hour ends. Mails actually sent to one account are capped at the same number per hour.
  MAIL_RESET_PER_ACCOUNT_PER_HOUR: integer(1, 1000).default(3),
  MAIL_RESET_PER_IP_PER_HOUR: integer(1, 100_000).default(20),
  // Milliseconds between two looks at the outbox by each node's mail worker.
  MAIL_POLL_INTERVAL_MS: integer(50, 600_000).default(2000),
  // Seconds a node may take to send one mail it claimed; past it another node may send it (the first one died).
  MAIL_LEASE_SECONDS: integer(5, 3600).default(60),
  // Longest wait between two attempts at a mail the relay refused or could not take (backoff doubles up to it).
  MAIL_RETRY_MAX_SECONDS: integer(1, 86_400).default(900),
  // Hours a mail is retried before it is given up as failed (kept, counted, logged; its link would have expired).
  MAIL_GIVE_UP_HOURS: integer(1, 720).default(72),
  // Days a sent or failed mail stays in the outbox (for an admin to look into) before it is deleted.
  MAIL_RETENTION_DAYS: integer(0, 365).default(7),
  // argon2id cost (OWASP: 19 MiB memory, 2 iterations, 1 lane).
  ARGON2_MEMORY_KIB: integer(8192, 4_194_304).default(19_456),
  ARGON2_TIME_COST: integer(1, 20).default(2),
  ARGON2_PARALLELISM: integer(1, 16).default(1),
});

/** Every environment variable the server reads: anything else in its environment is not configuration. */
export const CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(schema.shape));

export type SigningAlgorithm = z.infer<typeof signingAlgorithm>;

export type DatabaseConfig =
  | { readonly type: 'postgres'; readonly url: string }
  | { readonly type: 'sqlite'; readonly file: string };

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly issuer: string;
  /**
   * Whether AUTH_ISSUER was given, rather than made from AUTH_PORT: the CLI holds a given one against the issuer the
   * server recorded at its start, and takes the server's over a default one (src/cli/server-issuer.ts).
   */
  readonly issuerSet: boolean;
  readonly database: DatabaseConfig;
  /** Redis, when configured: one server, a Sentinel-watched primary or a Cluster. */
  readonly redis: RedisConfig | undefined;
  /** Longest wait for one connection or one statement/command of each store (ms), past which a request gets 503. */
  readonly storeTimeouts: { readonly databaseMs: number; readonly redisMs: number };
  readonly secretKey: string;
  /** AUTH_SECRET_KEY_PREVIOUS: master secrets still accepted for reading, newest first; never used to seal or sign. */
  readonly previousSecretKeys: readonly string[];
  /** Where the secret is kept when AUTH_SECRET_KEY is unset (the embedded default), and whether this start made it. */
  readonly generatedSecret: { readonly file: string; readonly created: boolean } | undefined;
  readonly ttl: {
    readonly accessToken: number;
    readonly refreshToken: number;
    readonly idToken: number;
    readonly session: number;
  };
  readonly lockout: { readonly maxAttempts: number; readonly durationSeconds: number };
  /** MFA_REQUIRED_FOR_ADMINS. */
  readonly mfaRequiredForAdmins: boolean;
  readonly passwords: { readonly minLength: number; readonly setLinkTtl: number };
  readonly loginRateLimit: number;
  readonly trustProxy: TrustedProxies;
  readonly clientAuthFailures: { readonly perIp: number; readonly perClient: number };
  /** Seconds a rotated-out client secret keeps working. */
  readonly clientSecretGraceSeconds: number;
  readonly revocationHeartbeatSeconds: number;
  /** REFRESH_RETRY_GRACE_SECONDS: how long a used refresh token still gets its successor again; 0 = never. */
  readonly refreshRetryGraceSeconds: number;
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly workers: number;
  readonly shutdownTimeoutSeconds: number;
  readonly logLevel: string;
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** Days an audit entry is kept; 0: forever. */
  readonly auditRetentionDays: number;
  /** The Prometheus metrics listener; undefined when AUTH_METRICS_PORT is unset. */
  readonly metrics: { readonly port: number; readonly host: string } | undefined;
  readonly algorithms: { readonly accessToken: SigningAlgorithm; readonly idToken: SigningAlgorithm };
  /** Signing-key rotation: the schedule (0: off), the pre-publication delay, and how often nodes look for changes. */
  readonly keyRotation: { readonly rotationDays: number; readonly publishDelaySeconds: number; readonly checkIntervalSeconds: number };
  readonly argon2: { readonly memoryCost: number; readonly timeCost: number; readonly parallelism: number };
  /** Mail; undefined without SMTP_URL (no mail: pages say to ask an admin). */
  readonly mail: MailConfig | undefined;
}

export interface MailConfig {
  /** SMTP_URL without its user and password (safe to log). */
  readonly relay: string;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  readonly auth: { readonly user: string; readonly pass: string } | undefined;
  readonly rejectUnauthorized: boolean;
  readonly from: string;
  readonly resetPerAccountPerHour: number;
  readonly resetPerIpPerHour: number;
  readonly pollIntervalMs: number;
  readonly leaseSeconds: number;
  readonly retryMaxSeconds: number;
  readonly giveUpHours: number;
  readonly retentionDays: number;
}

/** The mail settings, or undefined without SMTP_URL. The password is never part of anything logged. */
function mailFrom(env: z.infer<typeof schema>, issuer: string): MailConfig | undefined {
  if (!env.SMTP_URL) return undefined;
  const url = new URL(env.SMTP_URL);
  const secure = url.protocol === 'smtps:';
  const user = env.SMTP_USER ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const pass = env.SMTP_PASSWORD ?? (url.password ? decodeURIComponent(url.password) : undefined);
  if ((user === undefined) !== (pass === undefined)) {
    throw new ConfigError('invalid configuration:\n  SMTP_USER, SMTP_PASSWORD: give both (in SMTP_URL or apart) or neither');
  }
  if (env.MAIL_FROM && !parseSender(env.MAIL_FROM)) {
    throw new ConfigError('invalid configuration:\n  MAIL_FROM: must be an address, or a name and an address: ChillFi3 <auth@example.org>');
  }
  url.username = '';
  url.password = '';
  return Object.freeze({
    relay: url.toString(),
    secure,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    auth: user !== undefined && pass !== undefined ? Object.freeze({ user, pass }) : undefined,
    rejectUnauthorized: env.SMTP_TLS_REJECT_UNAUTHORIZED === 'true',
    from: env.MAIL_FROM ?? `no-reply@${new URL(issuer).hostname}`,
    resetPerAccountPerHour: env.MAIL_RESET_PER_ACCOUNT_PER_HOUR,
    resetPerIpPerHour: env.MAIL_RESET_PER_IP_PER_HOUR,
    pollIntervalMs: env.MAIL_POLL_INTERVAL_MS,
    leaseSeconds: env.MAIL_LEASE_SECONDS,
    retryMaxSeconds: env.MAIL_RETRY_MAX_SECONDS,
    giveUpHours: env.MAIL_GIVE_UP_HOURS,
    retentionDays: env.MAIL_RETENTION_DAYS,
  });
}

export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      readonly name: string;
      readonly sentinelPassword: string | undefined;
      readonly password: string | undefined;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly password: string | undefined };

export interface RedisConfig {
  readonly topology: RedisTopology;
  /** AUTH_REDIS_PREFIX: before every key ('' for none). */
  readonly prefix: string;
  /** AUTH_REDIS_WAIT_REPLICAS: replicas that must acknowledge a revocation before it is confirmed. */
  readonly waitReplicas: number;
}

/** A configuration that cannot start; the message names every bad key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The Redis to use: at most one of AUTH_REDIS_URL, AUTH_REDIS_SENTINELS, AUTH_REDIS_CLUSTER_NODES. */
function redisFrom(env: z.infer<typeof schema>): RedisConfig | undefined {
  const given = (['AUTH_REDIS_URL', 'AUTH_REDIS_SENTINELS', 'AUTH_REDIS_CLUSTER_NODES'] as const).filter((key) => env[key] !== undefined);
  if (given.length > 1) throw new ConfigError(`invalid configuration:\n  ${given.join(', ')}: set only one of them`);
  let topology: RedisTopology;
  if (env.AUTH_REDIS_URL) topology = { kind: 'single', url: env.AUTH_REDIS_URL };
  else if (env.AUTH_REDIS_SENTINELS) {
    topology = {
      kind: 'sentinel',
      sentinels: env.AUTH_REDIS_SENTINELS,
      name: env.AUTH_REDIS_SENTINEL_NAME,
      sentinelPassword: env.AUTH_REDIS_SENTINEL_PASSWORD,
      password: env.AUTH_REDIS_PASSWORD,
    };
  } else if (env.AUTH_REDIS_CLUSTER_NODES) {
    if (env.AUTH_REDIS_WAIT_REPLICAS > 0) {
      // WAIT counts the replicas of the one node it is sent to, while a Cluster spreads one revocation over several.
      throw new ConfigError('invalid configuration:\n  AUTH_REDIS_WAIT_REPLICAS: not available with AUTH_REDIS_CLUSTER_NODES (use min-replicas-to-write)');
    }
    topology = { kind: 'cluster', nodes: env.AUTH_REDIS_CLUSTER_NODES, password: env.AUTH_REDIS_PASSWORD };
  } else return undefined;
  return Object.freeze({ topology: Object.freeze(topology), prefix: env.AUTH_REDIS_PREFIX, waitReplicas: env.AUTH_REDIS_WAIT_REPLICAS });
}

function databaseFrom(env: z.infer<typeof schema>): DatabaseConfig {
  if (env.AUTH_DATABASE_URL) return { type: 'postgres', url: env.AUTH_DATABASE_URL };
  if (env.AUTH_DB_HOST) {
    const url = new URL('postgres://localhost');
    url.hostname = env.AUTH_DB_HOST;
    url.port = String(env.AUTH_DB_PORT);
    url.pathname = `/${env.AUTH_DB_NAME}`;
    url.username = env.AUTH_DB_USER;
    if (env.AUTH_DB_PASSWORD) url.password = env.AUTH_DB_PASSWORD;
    return { type: 'postgres', url: url.toString() };
  }
  const dir = isAbsolute(env.AUTH_DATA_DIR) ? env.AUTH_DATA_DIR : resolve(env.AUTH_DATA_DIR);
  return { type: 'sqlite', file: resolve(dir, 'auth.sqlite') };
}

/**
 * Writes a new random secret to `file` unless it exists (the folder made if missing); true when this call made it.
 * The secret goes to a private draft first ('wx', 0600) and is published with link(), which fails when `file`
 * exists: of processes starting at once exactly one creates it, and none can read it half-written (as one could
 * between another's open('wx') and its write()).
 */
function publishNewSecret(file: string): boolean {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const draft = `${file}.${randomBytes(8).toString('hex')}`;
  writeFileSync(draft, `${randomBytes(48).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(draft);
  }
}

/** The master secret: AUTH_SECRET_KEY, or on the embedded default the one generated and kept beside the database. */
function secretFrom(secretKey: string | undefined, database: DatabaseConfig): Pick<Config, 'secretKey' | 'generatedSecret'> {
  if (secretKey) return { secretKey, generatedSecret: undefined };
  if (database.type === 'postgres') {
    throw new ConfigError(
      `invalid configuration:\n  AUTH_SECRET_KEY: required with PostgreSQL, the same on every node (${HOW_TO_MAKE_A_SECRET})`,
    );
  }
  const file = resolve(dirname(database.file), GENERATED_SECRET_FILE);
  try {
    const created = !existsSync(file) && publishNewSecret(file);
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length < MIN_SECRET_LENGTH) throw new Error(`it holds fewer than ${MIN_SECRET_LENGTH} characters`);
    return { secretKey: kept, generatedSecret: Object.freeze({ file, created }) };
  } catch (cause) {
    throw new ConfigError(
      `invalid configuration:\n  AUTH_SECRET_KEY: unset, and the secret kept in ${file} cannot be used ` +
        `(${(cause as Error).message}): restore that file, or set AUTH_SECRET_KEY (${HOW_TO_MAKE_A_SECRET})`,
      { cause },
    );
  }
}

/** Reads, validates and freezes the configuration. Throws ConfigError with every problem listed. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  const env = parsed.data;
  if (env.NODE_ENV === 'production' && !env.AUTH_SECRET_KEY) {
    throw new ConfigError(`invalid configuration:\n  AUTH_SECRET_KEY: required in production (${HOW_TO_MAKE_A_SECRET})`);
  }
  if (Boolean(env.AUTH_TLS_CERT) !== Boolean(env.AUTH_TLS_KEY)) {
    throw new ConfigError('invalid configuration:\n  AUTH_TLS_CERT, AUTH_TLS_KEY: set both or neither');
  }
  const database = databaseFrom(env);
  const { secretKey, generatedSecret } = secretFrom(env.AUTH_SECRET_KEY, database);
  const scheme = env.AUTH_TLS_CERT ? 'https' : 'http';
  const issuer = (env.AUTH_ISSUER ?? `${scheme}://localhost:${env.AUTH_PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    env: env.NODE_ENV,
    port: env.AUTH_PORT,
    host: env.AUTH_HOST,
    issuer,
    issuerSet: env.AUTH_ISSUER !== undefined,
    database: Object.freeze(database),
    redis: redisFrom(env),
    storeTimeouts: Object.freeze({ databaseMs: env.AUTH_DB_TIMEOUT_MS, redisMs: env.AUTH_REDIS_TIMEOUT_MS }),
    secretKey,
    previousSecretKeys: env.AUTH_SECRET_KEY_PREVIOUS,
    generatedSecret,
    ttl: Object.freeze({
      accessToken: env.TOKEN_TTL,
      refreshToken: env.REFRESH_TTL,
      idToken: env.ID_TOKEN_TTL,
      session: env.SESSION_TTL,
    }),
    lockout: Object.freeze({ maxAttempts: env.MAX_LOGIN_ATTEMPTS, durationSeconds: env.LOCKOUT_DURATION }),
    mfaRequiredForAdmins: env.MFA_REQUIRED_FOR_ADMINS,
    passwords: Object.freeze({ minLength: env.PASSWORD_MIN_LENGTH, setLinkTtl: env.SET_PASSWORD_LINK_TTL }),
    loginRateLimit: env.LOGIN_RATE_LIMIT,
    trustProxy: env.AUTH_TRUST_PROXY,
    clientAuthFailures: Object.freeze({ perIp: env.CLIENT_AUTH_FAILURES_PER_IP, perClient: env.CLIENT_AUTH_FAILURES_PER_CLIENT }),
    clientSecretGraceSeconds: env.CLIENT_SECRET_GRACE_SECONDS,
    revocationHeartbeatSeconds: env.REVOCATION_HEARTBEAT_SECONDS,
    refreshRetryGraceSeconds: env.REFRESH_RETRY_GRACE_SECONDS,
    tls: env.AUTH_TLS_CERT && env.AUTH_TLS_KEY ? Object.freeze({ cert: env.AUTH_TLS_CERT, key: env.AUTH_TLS_KEY }) : undefined,
    workers: env.AUTH_WORKERS,
    shutdownTimeoutSeconds: env.AUTH_SHUTDOWN_TIMEOUT,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    metrics: env.AUTH_METRICS_PORT === undefined ? undefined : Object.freeze({ port: env.AUTH_METRICS_PORT, host: env.AUTH_METRICS_HOST }),
    algorithms: Object.freeze({ accessToken: env.ACCESS_TOKEN_ALG, idToken: env.ID_TOKEN_ALG }),
    keyRotation: Object.freeze({
      rotationDays: env.AUTH_KEY_ROTATION_DAYS,
      publishDelaySeconds: env.AUTH_KEY_PUBLISH_DELAY,
      checkIntervalSeconds: env.AUTH_KEY_CHECK_INTERVAL,
    }),
    argon2: Object.freeze({
      memoryCost: env.ARGON2_MEMORY_KIB,
      timeCost: env.ARGON2_TIME_COST,
      parallelism: env.ARGON2_PARALLELISM,
    }),
    mail: mailFrom(env, issuer),
  });
}
