// The primary of a cluster (AUTH_WORKERS > 1): prepares the database once, forks the workers (each runs the ordinary
// server, main.ts), restarts a worker that dies, and on SIGTERM/SIGINT passes the signal on, waits for every worker to
// drain and exits 0. node:cluster shares the port but leaves this supervision to the application; a process manager
// (pm2, systemd) would be a second supervisor around this one, not a replacement for it.
import cluster, { type Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import type { Config } from '../../config/index.js';
import { schemaModeFor } from '../db/data-source.js';
import { drainable } from './drain.js';
import type { Logger } from '../logger.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { onStopSignal } from './shutdown.js';
import { openStores } from '../stores.js';

/**
 * The delay before a dead worker is replaced: 100 ms, doubled for each further death that follows the one before
 * within a minute (a crash loop), at most 30 s. A crash now and then is replaced at once.
 */
const RESTART_BACKOFF = { firstMs: 100, maxMs: 30_000, resetAfterMs: 60_000 };
/** How long past AUTH_SHUTDOWN_TIMEOUT (which each worker keeps itself) the primary waits before killing a worker. */
const WORKER_STOP_GRACE_MS = 2_000;

/** A stopping worker to the primary: it accepts no more connections. The answer: none of the pool does anymore. */
const ACCEPTING_STOPPED = 'chillfi3-auth:accepting-stopped';
const PORT_CLOSED = 'chillfi3-auth:port-closed';

const isMessage = (message: unknown, type: string) => (message as { type?: unknown } | null)?.type === type;

/**
 * In a stopping worker, once it accepts no more: resolves when no worker accepts on the shared port anymore. Until
 * then the primary's listening socket is open: a client sent away by this worker (`Connection: close`) reconnects at
 * once, and the primary hands that connection to a worker, or resets it if the last one has just stopped accepting.
 */
export function noOtherWorkerAccepts(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isMessage(message, PORT_CLOSED)) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    // Sent after the worker's server.close() told node:cluster, on the same channel: when the primary reads this, the
    // worker is out of its round-robin.
    process.send?.({ type: ACCEPTING_STOPPED });
  });
}

export async function runClusterPrimary(config: Config, logger: Logger): Promise<void> {
  // Workers would race to migrate and to create the first signing keys: the primary does both once, first.
  const stores = await openStores(config, { schema: schemaModeFor(config.database) });
  await stores.keys.ensureActiveKeys([config.algorithms.accessToken, config.algorithms.idToken]);
  await stores.close();
  const metricsServer = await startMetricsServer(config, logger, 'cluster-primary');
  const metrics = metricsServer && drainable(metricsServer);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals, { failed }: { failed: boolean }) => {
    if (stopping) return;
    stopping = true;
    const started = performance.now();
    logger.info({ signal, workers: supervisor.size }, 'stopping the workers');
    const deadline = setTimeout(() => {
      logger.error({ workers: supervisor.size }, 'workers still running past AUTH_SHUTDOWN_TIMEOUT: killing them');
      supervisor.kill();
      metricsServer?.closeAllConnections();
    }, config.shutdownTimeoutSeconds * 1000 + WORKER_STOP_GRACE_MS);
    const metricsClosed = metrics?.stopAccepting();
    metrics?.closeConnections();
    const [workersDrained] = await Promise.all([supervisor.stop(signal), metricsClosed]);
    clearTimeout(deadline);
    logger.info({ durationMs: Math.round(performance.now() - started) }, 'stopped');
    process.exit(workersDrained && !failed ? 0 : 1);
  };
  const supervisor = new WorkerSupervisor(config.workers, logger, () => void stop('SIGTERM', { failed: true }));
  onStopSignal((signal) => void stop(signal, { failed: false }));
  supervisor.start();
}

/**
 * Keeps `count` workers running: a worker that dies is replaced after a backoff delay (RESTART_BACKOFF); when workers
 * keep dying before they listen (a broken deployment, not a crash), `giveUp` is called instead.
 */
class WorkerSupervisor {
  readonly #live = new Set<Worker>();
  readonly #listened = new Set<Worker>();
  /** Workers that stopped accepting and wait for PORT_CLOSED. */
  readonly #notAccepting = new Set<Worker>();
  readonly #restarts = new Set<NodeJS.Timeout>();
  /** Workers in a row that died before listening; any worker that listens sets it back to 0. */
  #startFailures = 0;
  readonly #startFailureLimit: number;
  #recentDeaths = 0;
  #lastDeathAt = -Infinity;
  #stopping: { signal: NodeJS.Signals; allDrained: boolean; done: (allDrained: boolean) => void } | undefined;

  constructor(
    private readonly count: number,
    private readonly logger: Logger,
    private readonly giveUp: () => void,
  ) {
    // Every worker failing its start twice, on average, after backoff delays that let a passing trouble pass.
    this.#startFailureLimit = 2 * count;
  }

  get size(): number {
    return this.#live.size;
  }

  start(): void {
    cluster.on('listening', (worker) => {
      this.#listened.add(worker);
      this.#startFailures = 0;
    });
    cluster.on('exit', (worker, code, signal) => this.#exited(worker, code, signal as NodeJS.Signals | null));
    cluster.on('message', (worker, message) => {
      if (!isMessage(message, ACCEPTING_STOPPED)) return;
      this.#notAccepting.add(worker);
      this.#answerStoppedWorkers();
    });
    for (let i = 0; i < this.count; i++) this.#fork();
  }

  /** Passes `signal` on to every worker; resolves once all have exited, true if each drained and exited 0. */
  stop(signal: NodeJS.Signals): Promise<boolean> {
    for (const timer of this.#restarts) clearTimeout(timer);
    this.#restarts.clear();
    return new Promise((done) => {
      this.#stopping = { signal, allDrained: true, done };
      if (this.#live.size === 0) done(true);
      for (const worker of this.#live) worker.process.kill(signal);
    });
  }

  kill(): void {
    for (const worker of this.#live) worker.process.kill('SIGKILL');
  }

  /** While the pool stops, the port closes with its last accepting worker; a worker stopping alone leaves others. */
  #answerStoppedWorkers(): void {
    if (this.#stopping && [...this.#listened].some((worker) => !this.#notAccepting.has(worker))) return;
    for (const worker of this.#notAccepting) worker.send({ type: PORT_CLOSED });
    this.#notAccepting.clear();
  }

  #fork(): void {
    this.#live.add(cluster.fork());
  }

  #exited(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.#live.delete(worker);
    const listened = this.#listened.delete(worker);
    this.#notAccepting.delete(worker);
    const pid = worker.process.pid;
    if (this.#stopping) {
      // A worker still starting has nothing to drain: ended by the signal itself, it stopped as it should.
      const drained = code === 0 || (!listened && signal === this.#stopping.signal);
      if (!drained) this.logger.error({ pid, code, signal }, 'worker did not stop cleanly');
      this.#stopping.allDrained &&= drained;
      this.#answerStoppedWorkers();
      if (this.#live.size === 0) this.#stopping.done(this.#stopping.allDrained);
      return;
    }
    if (!listened && ++this.#startFailures >= this.#startFailureLimit) {
      this.logger.fatal(
        { pid, code, signal, startFailures: this.#startFailures },
        'workers keep dying before they listen: giving up (each worker logged why it failed, above)',
      );
      this.giveUp();
      return;
    }
    const now = performance.now();
    this.#recentDeaths = now - this.#lastDeathAt > RESTART_BACKOFF.resetAfterMs ? 1 : this.#recentDeaths + 1;
    this.#lastDeathAt = now;
    const delayMs = Math.min(RESTART_BACKOFF.firstMs * 2 ** (this.#recentDeaths - 1), RESTART_BACKOFF.maxMs);
    this.logger.error({ pid, code, signal, listened, restartInMs: delayMs }, 'worker died: starting another');
    const timer = setTimeout(() => {
      this.#restarts.delete(timer);
      this.#fork();
    }, delayMs);
    this.#restarts.add(timer);
  }
}
