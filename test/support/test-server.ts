import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../config/index.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { startServices, type Services } from '../../src/services.js';
import { REDIS_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from './databases.js';

/** The three store set-ups: embedded SQLite, PostgreSQL alone, PostgreSQL with Redis. */
export type Backend = 'sqlite' | 'postgres' | 'postgres+redis';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres', 'postgres+redis'];

/** Every test deployment's master secret (PostgreSQL refuses to start without one). */
export const TEST_SECRET_KEY = 'chillfi3-auth-test-secret-0123456789abcdef';

export interface TestServer {
  issuer: string;
  /** This node's own address (the issuer is the first node's when nodes are joined). */
  url: string;
  database: ScratchDatabase;
  env: Record<string, string>;
  services: Services;
  server: Server;
  close(): Promise<void>;
}

/** Test-speed password hashing: the real argon2id, with the smallest cost config allows. */
const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };

/**
 * The real server on a free loopback port, on a fresh database: SQLite alone, or PostgreSQL with Redis.
 * With `join`, another node of the same deployment: same database, Redis, secret and issuer as that server.
 * With `database`, on that one instead of a fresh one (e.g. in a PostgreSQL cluster of the test's own).
 * With `clock`, the server reads the time from it (services.clock); a joined node shares the first node's.
 * With `hostname` (e.g. `localhost`: WebAuthn takes no IP address as its rpID), the issuer names the loopback port by it.
 */
export async function startTestServer(
  backend: Backend = 'sqlite',
  extraEnv: Record<string, string> = {},
  { join, database: given, clock, hostname = '127.0.0.1' }: { join?: TestServer; database?: ScratchDatabase; clock?: () => number; hostname?: string } = {},
): Promise<TestServer> {
  const database: ScratchDatabase =
    join?.database ?? given ?? (backend === 'sqlite' ? await scratchSqlite() : await scratchPostgres());
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${hostname}:${port}`;
  const env = join
    ? join.env
    : {
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        // Every test speaks from 127.0.0.1 and Redis keeps counters across runs: per-address limits are tested
        // where they are set low on purpose, never tripped by accident.
        LOGIN_RATE_LIMIT: '10000',
        CLIENT_AUTH_FAILURES_PER_IP: '100000',
        CLIENT_AUTH_FAILURES_PER_CLIENT: '100000',
        MAIL_RESET_PER_IP_PER_HOUR: '100000',
        MAIL_RESET_PER_ACCOUNT_PER_HOUR: '1000',
        AUTH_SECRET_KEY: TEST_SECRET_KEY,
        ...FAST_ARGON2,
        ...database.env,
        ...(backend === 'postgres+redis' ? { AUTH_REDIS_URL: REDIS_URL } : {}),
        ...extraEnv,
        AUTH_ISSUER: url,
      };
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const services = await startServices(config, logger, { schema: 'migrate', clock: clock ?? join?.services.clock });
  const app = await createApp({ services, logger });
  server.on('request', app.callback());
  return {
    issuer: config.issuer,
    url,
    database,
    env,
    services,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.close();
      if (!join) await database.drop();
    },
  };
}
