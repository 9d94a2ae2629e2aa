// What a server process does on SIGTERM or SIGINT: drain its listeners (drain.ts), then close the database and
// Redis, and exit 0, all within AUTH_SHUTDOWN_TIMEOUT; past it, close what is still open and exit 1.
import { performance } from 'node:perf_hooks';
import type { DrainableServer } from './drain.js';
import type { Logger } from '../logger.js';

/** Calls `stop` on the first SIGTERM or SIGINT. Later ones are ignored: Ctrl-C reaches both a cluster's primary and its
 * workers, and the primary passes its signal on as well. */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const once = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on('SIGTERM', once);
  process.on('SIGINT', once);
}

/** On a stop signal: drains every listener at once, then runs `close` (the stores), then exits. */
export function shutDownOnSignal({
  listeners,
  noOneElseAccepts,
  close,
  timeoutSeconds,
  logger,
}: {
  listeners: DrainableServer[];
  /** In a cluster worker: resolves once no worker accepts on the shared port anymore (cluster.ts). */
  noOneElseAccepts?: () => Promise<void>;
  close: () => Promise<void>;
  timeoutSeconds: number;
  logger: Logger;
}): void {
  onStopSignal(async (signal) => {
    const started = performance.now();
    logger.info({ signal, timeoutSeconds }, 'shutting down: accepting no more connections, answering the requests in flight');
    const deadline = setTimeout(() => {
      logger.error(
        { timeoutSeconds },
        'shutdown timed out (AUTH_SHUTDOWN_TIMEOUT): closing the connections still open, with their requests unanswered',
      );
      for (const { server } of listeners) server.closeAllConnections();
      process.exit(1);
    }, timeoutSeconds * 1000);
    try {
      // Clients told to go come straight back: the port must refuse them by then, not take them and reset them.
      // stopAccepting() runs first: in a worker it tells the primary so before noOneElseAccepts() asks.
      await Promise.all([
        ...listeners.map((listener) => listener.stopAccepting()),
        (noOneElseAccepts?.() ?? Promise.resolve()).then(() => {
          for (const listener of listeners) listener.closeConnections();
        }),
      ]);
      await close();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    clearTimeout(deadline);
    logger.info({ durationMs: Math.round(performance.now() - started) }, 'stopped');
    process.exit(0);
  });
}
