// Keeps a node's signing keys in step with signing_keys without a restart. Every few seconds each node advances the
// keys whose time has come (KeyStore.advance: every node may, the first one makes the change) and compares the key
// set's version with the one it serves; when they differ it loads the keys and hands them to `onChange`, which
// rebuilds what signs and verifies with them. So a rotation made by the CLI, by the schedule or by another node
// reaches every node within one check interval, and all nodes switch within that interval of each other.
import type { Config } from '../../config/index.js';
import type { KeyStore, PrivateJwk, RotationTimes } from './key-store.js';

/** oidc-provider's back-channel logout tokens live 120 s (lib/models/client.js), whatever the configured TTLs. */
const LOGOUT_TOKEN_TTL_SECONDS = 120;
/** Leeway verifiers allow for clock skew (the SDK's default is 5 s; jose's and most libraries' at most a minute). */
const CLOCK_SKEW_SECONDS = 60;

/**
 * When keys move on. A retiring key stays published until the last token it signed has expired: the longest-lived
 * token a key signs (access token, ID token, logout token), plus one check interval (a node that has not yet seen
 * the rotation still signs with the old key), plus verifiers' clock skew.
 */
export function rotationTimes(config: Config): RotationTimes {
  const { ttl, keyRotation } = config;
  return {
    publishSeconds: keyRotation.publishDelaySeconds,
    retireSeconds:
      Math.max(ttl.accessToken, ttl.idToken, LOGOUT_TOKEN_TTL_SECONDS) + keyRotation.checkIntervalSeconds + CLOCK_SKEW_SECONDS,
    rotationDays: keyRotation.rotationDays,
  };
}

export interface KeySetWatchOptions {
  keys: KeyStore;
  times: RotationTimes;
  intervalMs: number;
  /** The version of the key set the node serves now (from KeyStore.version, read with the keys it serves). */
  servedVersion: string;
  onChange: (jwks: PrivateJwk[]) => void;
  onError: (error: unknown) => void;
}

export class KeySetWatch {
  #served: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(private readonly options: KeySetWatchOptions) {
    this.#served = options.servedVersion;
  }

  start(): this {
    this.#timer = setInterval(() => void this.check().catch(this.options.onError), this.options.intervalMs);
    this.#timer.unref();
    return this;
  }

  /** One check now (one at a time): advance what is due, and reload the keys if the set changed. */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #check(): Promise<void> {
    const { keys, times, onChange } = this.options;
    await keys.advance(times);
    const version = await keys.version();
    if (version === this.#served) return;
    // The version was read first: if the set changes again before the keys are read, the next check reloads once more.
    const jwks = await keys.privateJwks();
    this.#served = version;
    onChange(jwks);
  }
}
