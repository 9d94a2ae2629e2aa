import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { loadConfig } from '../../config/index.js';
import { consumedPoints, createRateLimiter, limiterBackend, RATE_LIMITS_TABLE, type LimiterBackend } from '../../src/security/rate-limiter-store.js';
import { openStores, type Stores } from '../../src/stores.js';
import { REDIS_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-topologies.js';
import { BACKENDS, TEST_SECRET_KEY } from '../support/test-server.js';

/** Timers that keep the process alive (unref'd ones are not listed). */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

/** Points consumed and points refused out of `count` parallel consumes of one key. */
async function consumeInParallel(limiter: ReturnType<typeof createRateLimiter>, key: string, count: number) {
  const outcomes = await Promise.allSettled(Array.from({ length: count }, () => limiter.consume(key)));
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') expect(outcome.reason, 'refused, not failed').to.be.an.instanceOf(RateLimiterRes);
  }
  return {
    consumed: outcomes.filter((outcome) => outcome.status === 'fulfilled').length,
    refused: outcomes.filter((outcome) => outcome.status === 'rejected').length,
  };
}

describe('rate limiters on the shared store', function () {
  // The shared stores, and Redis as a Cluster of three primaries made by the test (its keys spread over slots).
  for (const backend of [...BACKENDS, 'postgres+redis-cluster'] as const) {
    const onRedis = backend === 'postgres+redis' || backend === 'postgres+redis-cluster';
    describe(backend, function () {
      this.timeout(30_000);
      let database: ScratchDatabase;
      let cluster: RedisCluster | undefined;
      /** Two nodes of one deployment: each opens its own connections to the same stores. */
      let nodes: { stores: Stores; limiters: LimiterBackend }[];

      before(async function () {
        database = backend === 'sqlite' ? await scratchSqlite() : await scratchPostgres();
        if (backend === 'postgres+redis-cluster') cluster = await startRedisCluster();
        const clusterNodes = cluster?.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
        const config = loadConfig({
          ...database.env,
          AUTH_SECRET_KEY: TEST_SECRET_KEY,
          ...(backend === 'postgres+redis' ? { AUTH_REDIS_URL: REDIS_URL } : {}),
          ...(clusterNodes ? { AUTH_REDIS_CLUSTER_NODES: clusterNodes } : {}),
        });
        const first = await openStores(config, { schema: 'migrate' });
        const second = await openStores(config, { schema: 'require-current' });
        nodes = [first, second].map((stores) => ({ stores, limiters: limiterBackend(stores) }));
      });
      after(async function () {
        for (const { stores, limiters } of nodes ?? []) {
          limiters.close();
          await stores.close();
        }
        await database?.drop();
        await cluster?.remove();
      });

      /** A limiter of `points` per `duration` seconds on each node, under a prefix of its own (Redis is shared by runs). */
      function limiterOnEachNode(points: number, duration = 60) {
        const keyPrefix = `test-${randomUUID()}`;
        return nodes.map(({ limiters }) => createRateLimiter(limiters, { keyPrefix, points, duration }));
      }

      it(`keeps its counters in ${onRedis ? 'Redis' : 'the database'}`, function () {
        expect(nodes[0]!.limiters.store).to.equal(onRedis ? 'redis' : 'database');
      });

      it('reads the points of several limiters and keys in one call, wherever their keys live', async function () {
        const [first] = limiterOnEachNode(5);
        const [second] = limiterOnEachNode(5);
        await first!.consume('a', 2);
        await second!.consume('b', 3);
        const entries = [[first!, 'a'], [second!, 'b'], [first!, 'b'], [second!, 'c']] as const;
        expect(await consumedPoints(nodes[1]!.limiters, entries)).to.deep.equal([2, 3, 0, 0]);
      });

      it('counts one budget across the nodes', async function () {
        const [onFirst, onSecond] = limiterOnEachNode(3);
        await onFirst!.consume('203.0.113.1');
        await onSecond!.consume('203.0.113.1');
        await onFirst!.consume('203.0.113.1');
        const refused = await onSecond!.consume('203.0.113.1').catch((rejection: unknown) => rejection);
        expect(refused).to.be.an.instanceOf(RateLimiterRes);
        expect((refused as RateLimiterRes).msBeforeNext).to.be.within(1, 60_000);
        expect((await onFirst!.get('203.0.113.2'))?.consumedPoints ?? 0, 'another key has its own budget').to.equal(0);
      });

      it('lets exactly its points through when 20 requests race for them on two nodes', async function () {
        const [onFirst, onSecond] = limiterOnEachNode(5);
        const results = await Promise.all([consumeInParallel(onFirst!, 'racer', 10), consumeInParallel(onSecond!, 'racer', 10)]);
        expect(results[0]!.consumed + results[1]!.consumed).to.equal(5);
        expect(results[0]!.refused + results[1]!.refused).to.equal(15);
      });

      it('takes a rewarded point back', async function () {
        const [limiter] = limiterOnEachNode(2);
        await limiter!.consume('household');
        await limiter!.consume('household');
        await limiter!.reward('household');
        await limiter!.consume('household');
        expect((await limiter!.get('household'))?.remainingPoints).to.equal(0);
      });

      it('starts a new window once the old one has ended', async function () {
        const [limiter] = limiterOnEachNode(1, 1);
        await limiter!.consume('patient');
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect((await limiter!.consume('patient')).consumedPoints).to.equal(1);
      });

      if (!onRedis) {
        it('purges the rows of ended windows and keeps the others', async function () {
          const [short] = limiterOnEachNode(5, 1);
          const [long] = limiterOnEachNode(5, 60);
          await short!.consume('gone');
          await long!.consume('kept');
          await new Promise((resolve) => setTimeout(resolve, 1100));
          expect(await nodes[0]!.limiters.purgeExpired()).to.be.at.least(1);
          const { dataSource } = nodes[0]!.stores;
          const rows: { key: string }[] = await dataSource.createQueryBuilder().select('key').from(RATE_LIMITS_TABLE, 'r').getRawMany();
          expect(rows.map((row) => row.key).filter((key) => key.endsWith(':gone'))).to.deep.equal([]);
          expect(rows.map((row) => row.key).filter((key) => key.endsWith(':kept'))).to.have.length(1);
        });
      }

      if (onRedis) {
        it('keeps the counters of deployments with different AUTH_REDIS_PREFIX apart, on one Redis', async function () {
          const { config } = nodes[0]!.stores;
          const other = await openStores({ ...config, redis: { ...config.redis!, prefix: 'other-deployment:' } }, { schema: 'require-current' });
          try {
            const keyPrefix = `test-${randomUUID()}`;
            const ours = createRateLimiter(nodes[0]!.limiters, { keyPrefix, points: 1, duration: 60 });
            const theirs = createRateLimiter(limiterBackend(other), { keyPrefix, points: 1, duration: 60 });
            await ours.consume('shared-address');
            expect((await theirs.consume('shared-address')).consumedPoints, 'their own budget').to.equal(1);
            expect(await other.redis!.exists(`${keyPrefix}:shared-address`), 'written under their prefix').to.equal(1);
            expect(await nodes[0]!.stores.redis!.get(`${keyPrefix}:shared-address`), 'ours untouched').to.equal('1');
          } finally {
            await other.close();
          }
        });
      }

      it('starts no timer that keeps the process alive', function () {
        const before = liveTimers();
        const limiters = limiterBackend(nodes[0]!.stores);
        createRateLimiter(limiters, { keyPrefix: 'idle', points: 1, duration: 1 });
        expect(liveTimers()).to.equal(before);
        limiters.close();
      });
    });
  }
});
