import { expect } from 'chai';
import * as oidc from 'openid-client';
import { AccountEntity } from '../../src/accounts/account-entity.js';
import type { PasswordHasher } from '../../src/accounts/password-hasher.js';
import { addAccount, addInstance, freshAddress, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BrowserAgent, formAction, type Page } from '../support/browser-agent.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const MAX_LOGIN_ATTEMPTS = 5;
const LOCKOUT_SECONDS = 3;

/**
 * Counts the real hasher's work: `verified` passwords checked against a stored hash, `hashed` every argon2/bcrypt run
 * (a check, or the dummy hash of a failure decided without one). Wraps the instance the server uses, calling through.
 */
function countHashing(hasher: PasswordHasher) {
  const counts = { verified: 0, hashed: 0 };
  const { verify, hash } = hasher;
  hasher.verify = (storedHash, password) => {
    counts.verified++;
    counts.hashed++;
    return verify.call(hasher, storedHash, password);
  };
  hasher.hash = (password) => {
    counts.hashed++;
    return hash.call(hasher, password);
  };
  return counts;
}

/** What a sign-in answered: `signed-in` (back at the instance with a code), `refused` (the form again), or else what. */
function outcome(page: Page): string {
  if (page.status === 0) return new URL(page.url).searchParams.has('code') ? 'signed-in' : page.url;
  if (page.status === 200 && page.body.includes('Invalid username or password.')) return 'refused';
  return `HTTP ${page.status}`;
}

/** Posts the sign-in form as if from `ip` (behind a trusted proxy), and answers the raw response. */
async function signInFrom(ip: string, login: { page: Page; agent: BrowserAgent }, username: string, password: string) {
  const url = new URL(formAction(login.page.body), login.page.url).toString();
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: await login.agent.jar.getCookieString(url),
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': ip,
    },
    body: new URLSearchParams({ username, password }),
  });
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('sign-in protections under concurrency', function () {
  for (const backend of BACKENDS) {
    describe(`on ${backend}`, function () {
      describe('account lockout', function () {
        let server: TestServer;
        let client: oidc.Configuration;
        let hashing: { verified: number; hashed: number };
        before(async function () {
          server = await startTestServer(backend, {
            MAX_LOGIN_ATTEMPTS: String(MAX_LOGIN_ATTEMPTS),
            LOCKOUT_DURATION: String(LOCKOUT_SECONDS),
          });
          ({ client } = await addInstance(server));
          hashing = countHashing(server.services.hasher);
        });
        after(() => server?.close());

        async function signIn(username: string, password: string) {
          const { page, agent } = await openLoginPage(client);
          return outcome(await agent.signIn(page, username, password, REDIRECT_URI));
        }

        it('counts at most MAX_LOGIN_ATTEMPTS of 25 parallel wrong passwords, then refuses the right one', async function () {
          const account = await addAccount(server, 'racer');
          const { page, agent } = await openLoginPage(client);
          const hashedBefore = hashing.hashed;
          const answers = await Promise.all(
            Array.from({ length: 25 }, (_, guess) => agent.signIn(page, 'racer', `guess ${guess}`, REDIRECT_URI)),
          );
          expect(answers.map(outcome)).to.deep.equal(Array(25).fill('refused'));
          expect(await signIn('racer', PASSWORD), 'locked: even the right password is refused').to.equal('refused');
          // A check's verdict is used only for an attempt the account counted (Authenticator): exactly the lockout's.
          const counted = await server.services.accounts.get(account.id);
          expect(counted.failedLogins, 'attempts counted').to.equal(MAX_LOGIN_ATTEMPTS);
          expect(counted.lockedUntil).to.be.an.instanceOf(Date);
          expect(hashing.hashed - hashedBefore, 'one hash for every attempt, counted or not').to.equal(26);
        });

        it('lets the account in once LOCKOUT_DURATION has passed, and counts afresh', async function () {
          await addAccount(server, 'patient');
          for (let guess = 0; guess < MAX_LOGIN_ATTEMPTS; guess++) expect(await signIn('patient', `guess ${guess}`)).to.equal('refused');
          expect(await signIn('patient', PASSWORD)).to.equal('refused');
          await sleep(LOCKOUT_SECONDS * 1000 + 200);
          for (let guess = 1; guess < MAX_LOGIN_ATTEMPTS; guess++) expect(await signIn('patient', `again ${guess}`)).to.equal('refused');
          expect(await signIn('patient', PASSWORD)).to.equal('signed-in');
        });

        it('resets the count on a correct password', async function () {
          const account = await addAccount(server, 'forgetful');
          for (let round = 0; round < 2; round++) {
            for (let guess = 1; guess < MAX_LOGIN_ATTEMPTS; guess++) await signIn('forgetful', `guess ${guess}`);
            expect(await signIn('forgetful', PASSWORD), `round ${round}`).to.equal('signed-in');
          }
          expect(await server.services.accounts.get(account.id)).to.include({ failedLogins: 0, lockedUntil: null });
        });

        it('spends the same hashing work on every failure, whatever its reason', async function () {
          const { accounts, dataSource } = server.services;
          await accounts.create({ username: 'passwordless', passwordHash: null });
          const disabled = await addAccount(server, 'disabled');
          await dataSource.getRepository(AccountEntity).update({ id: disabled.id }, { disabled: true });
          await addAccount(server, 'locked');
          for (let guess = 0; guess < MAX_LOGIN_ATTEMPTS; guess++) await signIn('locked', `guess ${guess}`);
          await addAccount(server, 'wrong');

          const failures: [string, string][] = [
            ['wrong', 'not the password'],
            ['passwordless', 'anything'],
            ['nobody', 'anything'],
            ['locked', PASSWORD],
            ['disabled', PASSWORD],
            ['nul\0byte', 'anything'],
          ];
          const work: Record<string, number> = {};
          for (const [username, password] of failures) {
            const before = hashing.hashed;
            expect(await signIn(username, password), username).to.equal('refused');
            work[username] = hashing.hashed - before;
          }
          expect(work).to.deep.equal(Object.fromEntries(failures.map(([username]) => [username, 1])));
        });
      });

      describe('per-address limit', function () {
        const LIMIT = 3;
        let server: TestServer;
        let client: oidc.Configuration;
        before(async function () {
          server = await startTestServer(backend, { LOGIN_RATE_LIMIT: String(LIMIT), AUTH_TRUST_PROXY: '1' });
          ({ client } = await addInstance(server));
          await addAccount(server, 'family');
        });
        after(() => server?.close());

        it('counts failed sign-ins, not successful ones, and answers 429 with Retry-After past the budget', async function () {
          const ip = freshAddress();
          for (let member = 0; member < LIMIT + 2; member++) {
            const response = await signInFrom(ip, await openLoginPage(client), 'family', PASSWORD);
            expect(response.status, `sign-in ${member}`).to.equal(303);
          }
          for (let failure = 0; failure < LIMIT; failure++) {
            expect((await signInFrom(ip, await openLoginPage(client), 'family', 'wrong')).status, `failure ${failure}`).to.equal(200);
          }
          const blocked = await signInFrom(ip, await openLoginPage(client), 'family', PASSWORD);
          expect(blocked.status).to.equal(429);
          expect(Number(blocked.headers.get('retry-after'))).to.be.within(1, 15 * 60);
          expect(blocked.headers.get('cache-control')).to.equal('no-store');
          const elsewhere = await signInFrom(freshAddress(), await openLoginPage(client), 'family', PASSWORD);
          expect(elsewhere.status, 'another address has its own budget').to.equal(303);
        });

        it('holds its budget against 20 parallel failures', async function () {
          const ip = freshAddress();
          const login = await openLoginPage(client);
          const hashing = countHashing(server.services.hasher);
          const responses = await Promise.all(Array.from({ length: 20 }, (_, guess) => signInFrom(ip, login, 'family', `guess ${guess}`)));
          const statuses = responses.map((response) => response.status).sort();
          expect(statuses).to.deep.equal([...Array(LIMIT).fill(200), ...Array(20 - LIMIT).fill(429)]);
          expect(hashing.hashed, 'passwords hashed').to.equal(LIMIT);
          expect((await signInFrom(ip, login, 'family', PASSWORD)).status).to.equal(429);
        });

        if (backend !== 'sqlite') {
          it('is one budget for two nodes of the deployment', async function () {
            const second = await startTestServer(backend, {}, { join: server });
            try {
              const ip = freshAddress();
              const login = await openLoginPage(client);
              const onSecond = { ...login, page: { ...login.page, url: login.page.url.replace(server.url, second.url) } };
              expect((await signInFrom(ip, login, 'family', 'wrong')).status).to.equal(200);
              expect((await signInFrom(ip, onSecond, 'family', 'wrong')).status).to.equal(200);
              expect((await signInFrom(ip, login, 'family', 'wrong')).status).to.equal(200);
              expect((await signInFrom(ip, onSecond, 'family', 'wrong')).status).to.equal(429);
            } finally {
              await second.close();
            }
          });
        }
      });
    });
  }
});
