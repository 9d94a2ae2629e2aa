// Reaching the auth server: every call goes through one fetch with the AUTH_TIMEOUT, which also tracks whether the
// server answers. While it does not, the client is degraded (offline token checks only, no new sign-ins) and probes
// it in the background until it answers again. Discovery and the signing keys (JWKS) are fetched through it too.
import type { JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { AuthError, messageOf } from './errors.js';
import { pinnedFetch } from './pinned-fetch.js';
import { JwksCache } from './jwks-cache.js';
import type { ResolvedOptions } from './options.js';

export interface AuthStatus {
  state: 'unknown' | 'ok' | 'degraded';
  since: Date;
  lastError: string | null;
}

/** Requests made to the auth server, by kind. */
export interface AuthServerRequests {
  discovery: number;
  jwks: number;
  introspection: number;
  serviceToken: number;
  refresh: number;
}

/** A fetch to the auth server. */
export type AuthServerFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export type StatusListener = (event: 'degraded' | 'recovered', status: AuthStatus) => void;

export class AuthServerConnection {
  readonly requests: AuthServerRequests = { discovery: 0, jwks: 0, introspection: 0, serviceToken: 0, refresh: 0 };
  /** The auth server's signing keys. */
  readonly jwks: JwksCache;

  private discovered: oidc.Configuration | undefined;
  private discovering: Promise<oidc.Configuration> | undefined;
  private currentStatus: AuthStatus = { state: 'unknown', since: new Date(), lastError: null };
  private probeTimer: NodeJS.Timeout | undefined;

  /**
   * Requests go through the client's `fetch` property (timedFetch unless replaced), read at each request: a host or a
   * test that wraps it sees every request to the auth server.
   */
  constructor(
    private readonly options: ResolvedOptions,
    private readonly onStatus: StatusListener,
    private readonly client: { readonly fetch: AuthServerFetch },
  ) {
    const { tlsPins, tlsCa } = this.options;
    this.transport = tlsPins ? pinnedFetch(tlsPins, tlsCa) : (url, init) => fetch(url, init);
    this.jwks = new JwksCache(
      () => this.loadJwks(),
      this.options.jwksCooldownSeconds * 1000,
      this.options.jwksMaxAgeSeconds * 1000,
    );
  }

  /** The discovered configuration, once discovery succeeded: callers skip awaiting discover() on the hot path. */
  get configuration(): oidc.Configuration | undefined {
    return this.discovered;
  }

  get status(): AuthStatus {
    return { ...this.currentStatus };
  }

  /** The network: fetch, or with AUTH_TLS_PINS a fetch that checks the pins (pinned-fetch.ts). */
  readonly transport: (url: string | URL, init?: RequestInit) => Promise<Response>;

  /** fetch with the AUTH_TIMEOUT, recording whether the auth server answers. Used for every call to the server. */
  readonly timedFetch = async (url: string | URL, init: RequestInit = {}): Promise<Response> => {
    this.requireRemote();
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.transport(url, { ...init, signal });
    } catch (cause) {
      this.markDegraded(cause);
      throw new AuthError('auth_unavailable', `the auth server is unreachable: ${messageOf((cause as { cause?: unknown }).cause ?? cause)}`, { cause });
    }
    if (response.status >= 500) this.markDegraded(new Error(`HTTP ${response.status} from ${String(url)}`));
    else this.markReachable();
    return response;
  };

  /** The auth server's metadata and this client's configuration (discovered once, retried after a failure). */
  /** With USE_REMOTE_AUTH=false nothing is asked of the auth server. */
  private requireRemote(): void {
    if (!this.options.useRemoteAuth) {
      throw new AuthError('configuration', 'USE_REMOTE_AUTH is false: this instance uses its own tokens only and asks nothing of the auth server');
    }
  }

  discover(): Promise<oidc.Configuration> {
    if (!this.options.useRemoteAuth) return Promise.reject(new AuthError('configuration', 'USE_REMOTE_AUTH is false: the auth server is not used'));
    if (this.discovered) return Promise.resolve(this.discovered);
    this.discovering ??= (async () => {
      try {
        this.requests.discovery++;
        const configuration = await oidc.discovery(
          new URL(this.options.serverUrl),
          this.options.clientId,
          undefined,
          oidc.ClientSecretBasic(this.options.clientSecret),
          {
            execute: this.options.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
            timeout: Math.ceil(this.options.timeoutMs / 1000),
            [oidc.customFetch]: this.client.fetch as oidc.CustomFetch,
          },
        );
        configuration[oidc.customFetch] = this.client.fetch as oidc.CustomFetch;
        configuration.timeout = Math.ceil(this.options.timeoutMs / 1000);
        this.discovered = configuration;
        return configuration;
      } catch (cause) {
        if (cause instanceof AuthError) throw cause;
        throw new AuthError('auth_unavailable', `discovery of ${this.options.serverUrl} failed: ${messageOf(cause)}`, { cause });
      } finally {
        this.discovering = undefined;
      }
    })();
    return this.discovering;
  }

  /** Asks the auth server whether it answers (its discovery document); updates status. */
  async checkReachable(): Promise<boolean> {
    try {
      const response = await this.client.fetch(`${this.options.serverUrl}/.well-known/openid-configuration`);
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Stops the background probe. */
  stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private async loadJwks(): Promise<JSONWebKeySet> {
    const configuration = this.discovered ?? (await this.discover());
    const uri = configuration.serverMetadata().jwks_uri;
    if (!uri) throw new AuthError('configuration', 'the auth server publishes no jwks_uri');
    this.requests.jwks++;
    const response = await this.client.fetch(uri, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new AuthError('auth_unavailable', `JWKS fetch answered ${response.status}`);
    return (await response.json()) as JSONWebKeySet;
  }

  private markDegraded(error: unknown): void {
    const lastError = messageOf(error);
    if (this.currentStatus.state === 'degraded') {
      this.currentStatus.lastError = lastError;
      return;
    }
    this.currentStatus = { state: 'degraded', since: new Date(), lastError };
    this.options.logger.warn('auth server unreachable: offline token checks only, new sign-ins refused', { error: lastError });
    this.onStatus('degraded', this.status);
    this.probeTimer = setInterval(() => void this.checkReachable(), this.options.probeIntervalSeconds * 1000);
    this.probeTimer.unref();
  }

  private markReachable(): void {
    if (this.currentStatus.state === 'ok') return;
    const wasDegraded = this.currentStatus.state === 'degraded';
    this.currentStatus = { state: 'ok', since: new Date(), lastError: null };
    this.stopProbe();
    if (wasDegraded) {
      this.options.logger.info('auth server reachable again');
      this.onStatus('recovered', this.status);
    }
  }
}
