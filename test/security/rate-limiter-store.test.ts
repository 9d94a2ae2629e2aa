import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { loadConfig } from '../../config/index.js';
import { createRateLimiter, limiterBackend, RATE_LIMITS_TABLE, type LimiterBackend } from '../../src/security/rate-limiter-store.js';
import { openStores, type Stores } from '../../src/stores.js';
import { REDIS_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
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
  for (const backend of BACKENDS) {
    describe(backend, function () {
      let database: ScratchDatabase;
      /** Two nodes of one deployment: each opens its own connections to the same stores. */
      let nodes: { stores: Stores; limiters: LimiterBackend }[];

      before(async function () {
        database = backend === 'sqlite' ? await scratchSqlite() : await scratchPostgres();
        const config = loadConfig({
          ...database.env,
          AUTH_SECRET_KEY: TEST_SECRET_KEY,
          ...(backend === 'postgres+redis' ? { AUTH_REDIS_URL: REDIS_URL } : {}),
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
      });

      /** A limiter of `points` per `duration` seconds on each node, under a prefix of its own (Redis is shared by runs). */
      function limiterOnEachNode(points: number, duration = 60) {
        const keyPrefix = `test-${randomUUID()}`;
        return nodes.map(({ limiters }) => createRateLimiter(limiters, { keyPrefix, points, duration }));
      }

      it(`keeps its counters in ${backend === 'postgres+redis' ? 'Redis' : 'the database'}`, function () {
        expect(nodes[0]!.limiters.store).to.equal(backend === 'postgres+redis' ? 'redis' : 'database');
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

      if (backend !== 'postgres+redis') {
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
