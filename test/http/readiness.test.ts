import { expect } from 'chai';
import { storeErrors, storeUp } from '../../src/metrics/metrics.js';
import { POSTGRES_URL, scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.js';
import { tcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

async function readyz(server: TestServer): Promise<{ status: number; body: unknown; cacheControl: string | null; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: await response.json(), cacheControl: response.headers.get('cache-control'), ms: performance.now() - started };
}

async function metricValue(metric: typeof storeUp | typeof storeErrors, store: string): Promise<number> {
  return (await metric.get()).values.find((sample) => sample.labels.store === store)?.value ?? 0;
}

describe('GET /readyz', function () {
  it('answers 200 on the embedded database, checking it alone', async function () {
    const server = await startTestServer('sqlite');
    try {
      const ready = await readyz(server);
      expect(ready.status).to.equal(200);
      expect(ready.body).to.deep.equal({ status: 'ok', checks: { database: 'ok' } });
      expect(ready.cacheControl).to.equal('no-store');
    } finally {
      await server.close();
    }
  });

  it('answers 200 on PostgreSQL with Redis, checking both', async function () {
    const server = await startTestServer('postgres+redis');
    try {
      const ready = await readyz(server);
      expect(ready.status).to.equal(200);
      expect(ready.body).to.deep.equal({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
    } finally {
      await server.close();
    }
  });

  describe('with Redis gone', function () {
    let redis: OwnRedis;
    let server: TestServer;
    before(async function () {
      redis = await startOwnRedis();
      server = await startTestServer('postgres', { AUTH_REDIS_URL: redis.url });
    });
    after(async function () {
      await server?.close();
      await redis?.stop();
    });

    it('answers 503 naming redis, the database still ok, and /healthz stays 200', async function () {
      expect((await readyz(server)).status).to.equal(200);
      const errorsBefore = await metricValue(storeErrors, 'redis');
      await redis.stop();
      const ready = await readyz(server);
      expect(ready.status).to.equal(503);
      expect(ready.body).to.deep.equal({ status: 'unavailable', checks: { database: 'ok', redis: 'down' } });
      expect(await metricValue(storeUp, 'redis')).to.equal(0);
      expect(await metricValue(storeErrors, 'redis')).to.equal(errorsBefore + 1);
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    });
  });

  describe('with PostgreSQL frozen (connections open, nothing answered)', function () {
    const TIMEOUT_MS = 500;
    let database: ScratchDatabase;
    let relay: TcpRelay;
    let server: TestServer;
    before(async function () {
      database = await scratchPostgres();
      const postgres = new URL(POSTGRES_URL);
      relay = await tcpRelay({ host: postgres.hostname, port: Number(postgres.port) });
      const relayed = new URL(database.env.AUTH_DATABASE_URL!);
      relayed.port = String(relay.port);
      // The server's own scratch database stays unused: this one is reached through the relay.
      server = await startTestServer('postgres+redis', { AUTH_DATABASE_URL: relayed.toString(), AUTH_DB_TIMEOUT_MS: String(TIMEOUT_MS) });
    });
    after(async function () {
      relay?.resume();
      await server?.close();
      await relay?.close();
      await database?.drop();
    });

    it('answers 503 naming the database within its timeout, and 200 again once it answers', async function () {
      expect((await readyz(server)).status).to.equal(200);
      relay.stall();
      const ready = await readyz(server);
      expect(ready.status).to.equal(503);
      expect(ready.body).to.deep.equal({ status: 'unavailable', checks: { database: 'down', redis: 'ok' } });
      expect(ready.ms).to.be.below(TIMEOUT_MS + 1000);
      expect(await metricValue(storeUp, 'database')).to.equal(0);

      relay.resume();
      let again = await readyz(server);
      for (let attempt = 0; again.status !== 200 && attempt < 20; attempt++) again = await readyz(server);
      expect(again.body).to.deep.equal({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
      expect(await metricValue(storeUp, 'database')).to.equal(1);
    });
  });
});
