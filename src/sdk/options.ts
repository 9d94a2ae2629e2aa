// The SDK's options, each documented where its default lives, and fromEnv(): the same from AUTH_* variables.
import { readFileSync } from 'node:fs';
import { AuthError } from './errors.js';
import { checkPins } from './pinned-fetch.js';
import type { KeyValueStore, RedisLike } from './key-value-store.js';
import type { ResolveUser } from './local-users.js';

/** How a token is checked. See validateToken() and docs/sdk.md for the revocation bound of each. */
export type ValidationPolicy = 'offline' | 'introspect-cached' | 'introspect';

export interface Logger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface AuthClientOptions {
  /** The auth server's URL (its issuer), e.g. https://auth.example.com. AUTH_SERVER_URL. */
  serverUrl: string;
  /** This instance's client_id. AUTH_API_KEY. */
  clientId: string;
  /** This instance's client secret. AUTH_API_SECRET. */
  clientSecret: string;
  /** Seconds an introspection result may be reused (never beyond the token's own expiry). AUTH_CACHE_TTL, default 300. */
  cacheTtlSeconds?: number;
  /** Milliseconds before any call to the auth server is abandoned. AUTH_TIMEOUT, default 5000. */
  timeoutMs?: number;
  /** Clock skew accepted on exp/iat/nbf, seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** Default policy of validateToken() and the middleware. Default 'introspect-cached'. */
  policy?: ValidationPolicy;
  /**
   * An ioredis client: introspection cache, sessions, login state, replay and ended-session markers are then shared
   * by every node of the instance. Default: process memory.
   */
  redis?: RedisLike;
  /** Any other store of short-lived state (takes precedence over redis). */
  store?: KeyValueStore;
  /** Key prefix in Redis. Default 'chillfi3-auth-sdk:<clientId>:'. */
  redisPrefix?: string;
  /**
   * Allow plain http:// to the auth server. Default: only when serverUrl is http on a loopback address
   * (127.0.0.1, ::1, localhost), for development and tests.
   */
  allowInsecureHttp?: boolean;
  /** Signing algorithms accepted on access tokens. Default ES256, ES384, ES512, RS256, PS256, EdDSA; never none or HS*. */
  algorithms?: string[];
  /** Seconds between JWKS refetches caused by an unknown kid. Default 30. */
  jwksCooldownSeconds?: number;
  /** Seconds after which the JWKS is refreshed in the background of the next check (old keys kept on failure). Default 600. */
  jwksMaxAgeSeconds?: number;
  /** Seconds between reachability probes while degraded. Default 5. */
  probeIntervalSeconds?: number;
  /**
   * Name of the browser session cookie. Default 'chillfi3_session'. Cookies are not isolated by port: instances
   * sharing a host name need distinct names (better: distinct host names).
   */
  sessionCookieName?: string;
  /**
   * Legacy HS256 tokens of the instance (its JWT_SECRET), accepted during a rollout, until `until` when given. Off by
   * default. With useRemoteAuth false, the only tokens accepted.
   */
  legacy?: { secret: string; until?: Date } | undefined;
  /**
   * The rollout switch (USE_REMOTE_AUTH). true (default): tokens of the auth server. false (phase 1): the instance's
   * own legacy tokens only (`legacy` required); nothing is asked of the auth server, whose settings may be unset.
   */
  useRemoteAuth?: boolean;
  /**
   * Maps every verified user to the instance's own (req.user, socket.user), e.g. resolveLocalUsers(chillfi3Users(pool)):
   * a numeric id and the local columns. Default: the user from the token's claims alone.
   */
  resolveUser?: ResolveUser | undefined;
  /**
   * Hear the auth server's revocation stream (GET /revocations): revoked tokens, ended sessions, disabled users are
   * refused within a second instead of within cacheTtlSeconds. AUTH_REVOCATION_STREAM=on. Default off.
   */
  revocationStream?: boolean;
  /**
   * Certificate pinning: the base64 SHA-256 of SubjectPublicKeyInfos (several for a rotation), one of which every
   * connection to the auth server must carry in its chain. AUTH_TLS_PINS (comma separated). Default: none.
   */
  tlsPins?: string[];
  /** Extra trusted root certificates (PEM) for the auth server's, e.g. a private CA. AUTH_TLS_CA (a file's path). */
  tlsCa?: string;
  /** Where degraded/recovered and rejected logout tokens are logged. Default console; pass null for silence. */
  logger?: Logger | null;
}

const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

export interface ResolvedOptions extends Required<Omit<AuthClientOptions, 'redis' | 'store' | 'legacy' | 'resolveUser' | 'logger' | 'tlsPins' | 'tlsCa'>> {
  tlsPins: string[] | undefined;
  tlsCa: string | undefined;
  redis: RedisLike | undefined;
  store: KeyValueStore | undefined;
  legacy: { secret: string; until?: Date } | undefined;
  resolveUser: ResolveUser | undefined;
  logger: Logger;
}

const silent: Logger = { info() {}, warn() {} };
const consoleLogger: Logger = {
  info: (message, details) => console.info(`[chillfi3-auth] ${message}`, details ?? ''),
  warn: (message, details) => console.warn(`[chillfi3-auth] ${message}`, details ?? ''),
};

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

export function resolveOptions(options: AuthClientOptions): ResolvedOptions {
  const useRemoteAuth = options.useRemoteAuth ?? true;
  if (!useRemoteAuth) {
    if (!options.legacy?.secret) {
      throw new AuthError('configuration', 'chillfi3-auth sdk: with USE_REMOTE_AUTH=false only legacy tokens are accepted: give legacy.secret (JWT_SECRET)');
    }
    // Nothing is asked of the auth server (auth-server-connection.ts refuses to): its settings may be unset.
    options = {
      ...options,
      serverUrl: options.serverUrl || 'https://auth.invalid',
      clientId: options.clientId || 'local',
      clientSecret: options.clientSecret || 'local',
      revocationStream: false,
    };
  }
  for (const key of ['serverUrl', 'clientId', 'clientSecret'] as const) {
    if (!options[key]) throw new AuthError('configuration', `chillfi3-auth sdk: ${key} is required`);
  }
  let url: URL;
  try {
    url = new URL(options.serverUrl);
  } catch (cause) {
    throw new AuthError('configuration', `chillfi3-auth sdk: serverUrl "${options.serverUrl}" is not a URL`, { cause });
  }
  const allowInsecureHttp = options.allowInsecureHttp ?? (url.protocol === 'http:' && isLoopback(url));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowInsecureHttp)) {
    throw new AuthError('configuration', 'chillfi3-auth sdk: serverUrl must be https (set allowInsecureHttp for plain http)');
  }
  const algorithms = options.algorithms ?? ALGORITHMS;
  for (const alg of algorithms) {
    if (alg === 'none' || alg.startsWith('HS')) throw new AuthError('configuration', `chillfi3-auth sdk: algorithm ${alg} is never accepted`);
  }
  const positive = (value: number | undefined, fallback: number, name: string) => {
    const result = value ?? fallback;
    if (!Number.isFinite(result) || result < 0) throw new AuthError('configuration', `chillfi3-auth sdk: ${name} must be a non-negative number`);
    return result;
  };
  return {
    serverUrl: options.serverUrl.replace(/\/+$/, ''),
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    cacheTtlSeconds: positive(options.cacheTtlSeconds, 300, 'cacheTtlSeconds'),
    timeoutMs: positive(options.timeoutMs, 5000, 'timeoutMs') || 5000,
    clockToleranceSeconds: positive(options.clockToleranceSeconds, 5, 'clockToleranceSeconds'),
    policy: options.policy ?? 'introspect-cached',
    redis: options.redis,
    store: options.store,
    redisPrefix: options.redisPrefix ?? `chillfi3-auth-sdk:${options.clientId}:`,
    allowInsecureHttp,
    algorithms,
    jwksCooldownSeconds: positive(options.jwksCooldownSeconds, 30, 'jwksCooldownSeconds'),
    jwksMaxAgeSeconds: positive(options.jwksMaxAgeSeconds, 600, 'jwksMaxAgeSeconds'),
    probeIntervalSeconds: positive(options.probeIntervalSeconds, 5, 'probeIntervalSeconds') || 5,
    sessionCookieName: options.sessionCookieName ?? 'chillfi3_session',
    revocationStream: options.revocationStream ?? false,
    tlsPins: options.tlsPins === undefined ? undefined : checkPins(options.tlsPins),
    tlsCa: options.tlsCa,
    useRemoteAuth,
    legacy: options.legacy,
    resolveUser: options.resolveUser,
    logger: options.logger === null ? silent : (options.logger ?? consoleLogger),
  };
}

function numberFrom(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new AuthError('configuration', `${name} must be a non-negative number, got "${raw}"`);
  return value;
}

/** USE_REMOTE_AUTH: true (the default) or false. */
function remoteAuthFrom(env: Record<string, string | undefined>): boolean {
  const raw = env.USE_REMOTE_AUTH;
  if (raw === undefined || raw === '' || raw === 'true') return true;
  if (raw === 'false') return false;
  throw new AuthError('configuration', `USE_REMOTE_AUTH must be "true" or "false", got "${raw}"`);
}

/**
 * The legacy tokens: with USE_REMOTE_AUTH=false always (JWT_SECRET required); else while AUTH_LEGACY_TOKENS allows:
 * `on`, or a date and time (ISO 8601) until which they are accepted; unset or `off`: not at all.
 */
function legacyFrom(env: Record<string, string | undefined>, useRemoteAuth: boolean): AuthClientOptions['legacy'] {
  const raw = env.AUTH_LEGACY_TOKENS ?? '';
  let until: Date | undefined;
  if (raw !== '' && raw !== 'on' && raw !== 'off') {
    until = new Date(raw);
    if (!/^\d{4}-\d\d-\d\d/.test(raw) || Number.isNaN(until.getTime())) {
      throw new AuthError('configuration', `AUTH_LEGACY_TOKENS must be "on", "off" or a date and time (2026-12-31T00:00:00Z), got "${raw}"`);
    }
  }
  const wanted = !useRemoteAuth || raw === 'on' || until !== undefined;
  if (!wanted) return undefined;
  if (!env.JWT_SECRET) {
    throw new AuthError('configuration', `chillfi3-auth sdk: set JWT_SECRET (the instance's own token secret) for ${useRemoteAuth ? 'AUTH_LEGACY_TOKENS' : 'USE_REMOTE_AUTH=false'}`);
  }
  return { secret: env.JWT_SECRET, ...(useRemoteAuth && until ? { until } : {}) };
}

/**
 * Options from AUTH_SERVER_URL, AUTH_API_KEY, AUTH_API_SECRET, AUTH_CACHE_TTL (s), AUTH_TIMEOUT (ms),
 * AUTH_REVOCATION_STREAM (on/off), and the rollout switch: USE_REMOTE_AUTH, AUTH_LEGACY_TOKENS and JWT_SECRET.
 */
export function optionsFromEnv(env: Record<string, string | undefined> = process.env): AuthClientOptions {
  const useRemoteAuth = remoteAuthFrom(env);
  const legacy = legacyFrom(env, useRemoteAuth);
  if (!useRemoteAuth) {
    return { useRemoteAuth, legacy, serverUrl: env.AUTH_SERVER_URL ?? '', clientId: env.AUTH_API_KEY ?? '', clientSecret: env.AUTH_API_SECRET ?? '' };
  }
  const missing = ['AUTH_SERVER_URL', 'AUTH_API_KEY', 'AUTH_API_SECRET'].filter((name) => !env[name]);
  if (missing.length) throw new AuthError('configuration', `chillfi3-auth sdk: set ${missing.join(', ')}`);
  const cacheTtlSeconds = numberFrom(env, 'AUTH_CACHE_TTL');
  const timeoutMs = numberFrom(env, 'AUTH_TIMEOUT');
  const stream = env.AUTH_REVOCATION_STREAM;
  if (stream !== undefined && stream !== '' && stream !== 'on' && stream !== 'off') {
    throw new AuthError('configuration', `AUTH_REVOCATION_STREAM must be "on" or "off", got "${stream}"`);
  }
  const pins = env.AUTH_TLS_PINS?.split(',').map((pin) => pin.trim()).filter(Boolean);
  return {
    ...(pins?.length ? { tlsPins: pins } : {}),
    ...(env.AUTH_TLS_CA ? { tlsCa: readFileSync(env.AUTH_TLS_CA, 'utf8') } : {}),
    ...(legacy ? { legacy } : {}),
    ...(stream === 'on' ? { revocationStream: true } : {}),
    serverUrl: env.AUTH_SERVER_URL as string,
    clientId: env.AUTH_API_KEY as string,
    clientSecret: env.AUTH_API_SECRET as string,
    ...(cacheTtlSeconds !== undefined ? { cacheTtlSeconds } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}
