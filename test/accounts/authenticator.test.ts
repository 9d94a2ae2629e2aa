// Whether a sign-in's store work tells an existing account from an unknown username. Timing is not asserted (it is
// measured by bench/sign-in-timing.ts); what is asserted is what would make it differ: the SQL statements a failed
// sign-in sends, seen through TypeORM's logger, must be the same in number and kind whatever the username, on every
// store set-up.
import { expect } from 'chai';
import type { DataSource, QueryRunner } from 'typeorm';
import { AccountEntity } from '../../src/accounts/account-entity.js';
import { addAccount, addInstance, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The statements on tables sent through `dataSource` while `work` runs, each as its verb and the table it names
 * (parameters and columns left out: what differs between two sign-ins is which statements run, not their values).
 */
async function statementsOf(dataSource: DataSource, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const { logger } = dataSource;
  const logQuery = logger.logQuery.bind(logger);
  logger.logQuery = (query: string, parameters?: unknown[], runner?: QueryRunner) => {
    const verb = /^\s*(\w+)/.exec(query)?.[1]?.toUpperCase() ?? query;
    const table = /\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?/i.exec(query)?.[1];
    // Without a table: the store probes' `SELECT 1`, which run on their own timers, not for a sign-in.
    if (table) seen.push(`${verb} ${table}`);
    return logQuery(query, parameters, runner);
  };
  try {
    await work();
  } finally {
    logger.logQuery = logQuery;
  }
  return seen;
}

for (const backend of BACKENDS) {
  describe(`sign-in store work on ${backend}`, function () {
    let server: TestServer;
    let signIn: (username: string, password: string) => Promise<string[]>;
    before(async function () {
      server = await startTestServer(backend, { MAX_LOGIN_ATTEMPTS: '3' });
      const { client } = await addInstance(server);
      signIn = async (username, password) => {
        const { page, agent } = await openLoginPage(client);
        let answer = { status: -1, body: '' };
        const statements = await statementsOf(server.services.dataSource, async () => {
          answer = await agent.signIn(page, username, password, REDIRECT_URI);
        });
        expect(answer.status, `${username}: ${answer.body.slice(0, 200)}`).to.equal(200);
        expect(answer.body).to.contain('Invalid username or password.');
        await server.services.audit.flush();
        return statements;
      };
    });
    after(() => server?.close());

    it('sends the same statements for a wrong password as for an unknown username, a locked account or one without a password', async function () {
      await addAccount(server, 'existing');
      await addAccount(server, 'locked');
      await server.services.accounts.create({ username: 'passwordless', passwordHash: null });
      for (let attempt = 0; attempt < 3; attempt++) await signIn('locked', `guess ${attempt}`);

      const unknown = await signIn('nobody', 'a wrong password');
      expect(unknown, 'the counting UPDATE').to.include('UPDATE accounts');
      expect(await signIn('existing', 'a wrong password'), 'wrong password').to.deep.equal(unknown);
      expect(await signIn('locked', PASSWORD), 'locked').to.deep.equal(unknown);
      expect(await signIn('passwordless', 'anything'), 'no password').to.deep.equal(unknown);
    });

    it('sends the counting UPDATE while the password is hashed, so that its write is no extra wait for an account that exists', async function () {
      await addAccount(server, 'overlapped');
      const { accounts, hasher } = server.services;
      const events: string[] = [];
      const { reserveLoginAttempt } = accounts;
      const { verify, hash } = hasher;
      accounts.reserveLoginAttempt = async (...args) => {
        events.push('reserve started');
        try {
          return await reserveLoginAttempt.apply(accounts, args);
        } finally {
          events.push('reserve ended');
        }
      };
      hasher.verify = (...args) => {
        events.push('hashing started');
        return verify.apply(hasher, args);
      };
      hasher.hash = (...args) => {
        events.push('hashing started');
        return hash.apply(hasher, args);
      };
      try {
        for (const username of ['overlapped', 'nobody']) {
          events.length = 0;
          await signIn(username, 'a wrong password');
          expect(events.indexOf('hashing started'), username).to.be.within(0, events.indexOf('reserve ended'));
        }
      } finally {
        Object.assign(accounts, { reserveLoginAttempt });
        Object.assign(hasher, { verify, hash });
      }
    });

    it('counts the attempt on the account, and nothing anywhere for an unknown username', async function () {
      const account = await addAccount(server, 'counted');
      const before = await server.services.dataSource.getRepository(AccountEntity).find();
      await signIn('nobody-at-all', 'a wrong password');
      expect(await server.services.dataSource.getRepository(AccountEntity).find()).to.deep.equal(before);
      await signIn('counted', 'a wrong password');
      expect(await server.services.accounts.get(account.id)).to.include({ failedLogins: 1 });
    });
  });
}
