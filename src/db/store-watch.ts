// Says when a store goes down and when it is back: one warning per outage and one line at recovery, however many
// requests meet it in between (those are answered 503 without a line each: src/http/error-handler.ts).
import type { Logger } from '../logger.js';

/** How often a store is asked whether it answers. One trivial round trip a second costs nothing a store would notice. */
const PROBE_INTERVAL_MS = 1000;

export interface WatchedStore {
  name: 'database' | 'redis';
  /** One trivial round trip, bounded by the store's own timeouts. */
  ping(): Promise<unknown>;
}

export interface StoreWatch {
  /** A failure seen outside the probe (a connection's error event): the store counts as down until a probe answers. */
  failed(error: unknown): void;
  close(): void;
}

/** Probes the store every second, on a timer that does not keep the process alive, and logs each change of state. */
export function watchStore({ name, ping }: WatchedStore, logger: Logger): StoreWatch {
  let downSince: number | undefined;
  let probing = false;

  function failed(error: unknown): void {
    if (downSince !== undefined) return;
    downSince = Date.now();
    const reason = error instanceof Error ? error.message : String(error);
    logger.warn({ store: name, reason }, `${name} unavailable: requests that need it are answered 503 until it recovers`);
  }

  function answered(): void {
    if (downSince === undefined) return;
    logger.info({ store: name, downMs: Date.now() - downSince }, `${name} recovered`);
    downSince = undefined;
  }

  const timer = setInterval(() => {
    if (probing) return;
    probing = true;
    ping()
      .then(answered, failed)
      .finally(() => (probing = false));
  }, PROBE_INTERVAL_MS).unref();

  return { failed, close: () => clearInterval(timer) };
}
