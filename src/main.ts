// Starts the server: reads the config, opens the database and Redis, builds the app, listens, and shuts down
// gracefully on SIGINT/SIGTERM. With AUTH_WORKERS > 1 it forks that many workers sharing the port.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { createApp } from './app.js';
import { createLogger } from './logger.js';
import { startServices } from './services.js';
import { openStores } from './stores.js';
import { schemaModeFor, type SchemaMode } from './db/data-source.js';

function listen(config: Config, handler: ReturnType<Awaited<ReturnType<typeof createApp>>['callback']>): Server {
  if (!config.tls) return createHttpServer(handler);
  return createHttpsServer(
    { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), minVersion: 'TLSv1.3' },
    handler,
  );
}

async function runServer(config: Config, { schema }: { schema: SchemaMode }): Promise<void> {
  const logger = createLogger(config.logLevel);
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
  const app = await createApp({ services, logger });
  const server = listen(config, app.callback());
  server.listen(config.port, config.host, () => {
    logger.info({ issuer: config.issuer, port: config.port, database: config.database.type, redis: Boolean(config.redisUrl) }, 'chillfi3-auth listening');
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close(() => {
      services.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
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
  if (config.workers > 1 && cluster.isPrimary) {
    // Workers would race to migrate and to create the first signing keys: the primary does both once, first.
    const stores = await openStores(config, { schema: schemaModeFor(config.database) });
    await stores.keys.ensureActiveKeys([config.algorithms.accessToken, config.algorithms.idToken]);
    await stores.close();
    for (let i = 0; i < config.workers; i++) cluster.fork();
    cluster.on('exit', (_worker, code) => {
      if (code !== 0) cluster.fork();
    });
    return;
  }
  await runServer(config, { schema: cluster.isPrimary ? schemaModeFor(config.database) : 'require-current' });
}

main().catch((error: unknown) => {
  console.error('chillfi3-auth failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
