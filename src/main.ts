// Starts the server: reads the config, opens the database and Redis, builds the app and listens; stops gracefully on
// SIGINT/SIGTERM (shutdown.ts). With AUTH_WORKERS > 1 this process is the primary of a cluster (cluster.ts) and
// each of its workers runs the server.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { createApp } from './app.js';
import { listen } from './http/listen.js';
import { noOtherWorkerAccepts, runClusterPrimary } from './process/cluster.js';
import { schemaModeFor, type SchemaMode } from './db/data-source.js';
import { drainable } from './process/drain.js';
import { createLogger, logFormatFor, type LogFormat, type Logger } from './logger.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { startServices } from './services.js';
import { onStopSignal, shutDownOnSignal } from './process/shutdown.js';
import { setupBanner } from './setup-banner.js';

function createServer(config: Config, handler: RequestListener): Server {
  if (!config.tls) return createHttpServer(handler);
  return createHttpsServer(
    { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), minVersion: 'TLSv1.3' },
    handler,
  );
}

async function runServer(config: Config, logger: Logger, { schema, logFormat }: { schema: SchemaMode; logFormat: LogFormat }): Promise<void> {
  if (config.generatedSecret) {
    // The path only, never the secret: whoever runs the server must know that this file now guards the database.
    logger.info(
      config.generatedSecret,
      config.generatedSecret.created
        ? 'AUTH_SECRET_KEY is unset: generated a secret and kept it in this file; back it up with the database'
        : 'AUTH_SECRET_KEY is unset: using the secret kept in this file',
    );
  }
  const services = await startServices(config, logger, { schema });
  const previous = await services.issuerRecord.record(config.issuer);
  if (previous) {
    logger.warn(
      { issuer: config.issuer, previous: previous.issuer },
      'the server last started under another issuer: recorded this one (the CLI uses it); every node must run under the same AUTH_ISSUER',
    );
  }
  if (await services.firstRun.needed()) {
    // Every start prints a token of its own (each node and worker: any of them accepts any); all go with the first admin.
    const setupToken = await services.firstRun.issueSetupToken();
    const url = `${config.issuer}/`;
    logger.warn({ url, setupToken }, 'no admin yet: open the url to create the first one (away from this host, with this setup token)');
    if (logFormat === 'pretty') process.stdout.write(setupBanner(url, setupToken));
  }
  const app = await createApp({ services, logger });
  const server = createServer(config, app.callback());
  const listeners = [drainable(server)];
  // Only a process of its own serves metrics: in a cluster the primary serves the workers' sum (cluster.ts).
  const metrics = cluster.isPrimary ? await startMetricsServer(config, logger, 'process') : undefined;
  if (metrics) listeners.push(drainable(metrics));
  await listen(server, config.port, config.host);
  logger.info(
    { issuer: config.issuer, port: config.port, database: config.database.type, redis: config.redis?.topology.kind ?? false, pid: process.pid },
    'chillfi3-auth listening',
  );
  // Revocation streams never end by themselves: a stop ends them at once, and their instances reconnect elsewhere.
  onStopSignal(() => services.revocations.endStreams());
  shutDownOnSignal({
    listeners,
    noOneElseAccepts: cluster.isWorker ? noOtherWorkerAccepts : undefined,
    close: () => services.close(),
    timeoutSeconds: config.shutdownTimeoutSeconds,
    logger,
  });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78);
  }
  const logFormat = logFormatFor(config.logFormat, process.stdout);
  const logger = createLogger(config.logLevel, { format: logFormat });
  if (config.workers > 1 && cluster.isPrimary) return runClusterPrimary(config, logger);
  await runServer(config, logger, { schema: cluster.isPrimary ? schemaModeFor(config.database) : 'require-current', logFormat });
}

main().catch((error: unknown) => {
  console.error('chillfi3-auth failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
