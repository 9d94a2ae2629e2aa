// A store outage must not spend the per-address sign-in budget (LOGIN_RATE_LIMIT): only a refused password keeps the
// point each sign-in reserves. Correct passwords are sent in waves through a real outage, beyond the limit, and once
// the store is back a correct password signs in. The embedded SQLite set-up has no outage of this kind: its limiter
// and its accounts are one file in the server's own process, and a reservation is that file's first write, so a file
// that cannot be written fails the reservation itself, before any point is held.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { addAccount, addInstance, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { startPostgresCluster, startRedisProcess, type PostgresCluster, type StoreProcess } from '../support/store-processes.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const LIMIT = 3;
const FAULT_ENV = { AUTH_DB_TIMEOUT_MS: '500', AUTH_REDIS_TIMEOUT_MS: '500', LOGIN_RATE_LIMIT: String(LIMIT) };
const USERNAME = 'outage-user';

describe('faults: a store outage spends none of the sign-in budget', function () {
  this.timeout(60_000);
  let postgres: PostgresCluster;
  let redis: StoreProcess;

  before(async function () {
    [postgres, redis] = await Promise.all([startPostgresCluster(), startRedisProcess()]);
  });
  after(async function () {
    await Promise.allSettled([postgres?.remove(), redis?.remove()]);
  });

  async function deployment(withRedis: boolean): Promise<{ server: TestServer; client: Awaited<ReturnType<typeof addInstance>>['client'] }> {
    const url = await postgres.createDatabase();
    const server = await startTestServer(withRedis ? 'postgres+redis' : 'postgres', { ...FAULT_ENV, ...(withRedis ? { AUTH_REDIS_URL: redis.url } : {}) }, {
      database: { env: { AUTH_DATABASE_URL: url }, drop: async () => undefined },
    });
    // The Redis is the test's own: emptied, its counters for 127.0.0.1 start at nothing.
    if (withRedis) await server.services.redis?.flushdb();
    await addAccount(server, USERNAME);
    const { client } = await addInstance(server);
    return { server, client };
  }

  /** A sign-in page opened once the stores answer again (their pools reconnect on their own time). */
  async function pageAfterRecovery(client: Awaited<ReturnType<typeof addInstance>>['client']) {
    for (let attempt = 0; ; attempt++) {
      const opened = await openLoginPage(client).catch(() => undefined);
      if (opened?.page.status === 200) return opened;
      if (attempt === 100) throw new Error('no sign-in page 10 s after the store came back');
      await sleep(100);
    }
  }

  async function outage(withRedis: boolean, fail: () => Promise<void> | void, restore: () => Promise<void> | void) {
    const { server, client } = await deployment(withRedis);
    let restored = false;
    const restoreOnce = async () => {
      if (!restored) await restore();
      restored = true;
    };
    try {
      // Three waves of LIMIT sign-ins at once, each a correct password on a page opened before the outage.
      const waves = await Promise.all(Array.from({ length: 3 }, () => Promise.all(Array.from({ length: LIMIT }, () => openLoginPage(client)))));
      await fail();
      for (const wave of waves) {
        const answers = await Promise.all(wave.map(({ page, agent }) => agent.signIn(page, USERNAME, PASSWORD, REDIRECT_URI)));
        for (const answer of answers) {
          expect(answer.status, answer.body.slice(0, 200)).to.equal(503);
          expect(answer.body).to.contain('Sign-in is unavailable right now');
        }
      }
      await restoreOnce();
      const { page, agent } = await pageAfterRecovery(client);
      const signedIn = await agent.signIn(page, USERNAME, PASSWORD, REDIRECT_URI);
      expect([signedIn.status, signedIn.body.slice(0, 200)]).to.deep.equal([0, '']);
      expect(signedIn.url).to.match(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
    } finally {
      await restoreOnce();
      await server.close();
    }
  }

  it('PostgreSQL stopped, sessions in Redis: the sign-ins it fails give their points back', async function () {
    await outage(true, () => postgres.stop(), () => postgres.start());
  });

  it('Redis stopped, PostgreSQL up: no sign-in spends a point', async function () {
    await outage(true, () => redis.stop(), () => redis.start());
  });

  it('PostgreSQL stopped, no Redis: no sign-in spends a point', async function () {
    await outage(false, () => postgres.stop(), () => postgres.start());
  });
});
