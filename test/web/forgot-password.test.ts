// "Forgot your password?" end to end over HTTP, against a real SMTP server on loopback, on every store set-up: the
// answer is the same whatever the request names (and so is the store work it does, and its time over many requests),
// only an account that may get a link gets a mail, the link sets the password once and ends the account's sessions,
// the limits answer 429 on the shared store, and odd input is refused plainly.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { QueryRunner } from 'typeorm';
import { AuditEventEntity } from '../../src/audit/audit-event-entity.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { addAccount, addInstance, codeFlow, freshAddress, openLoginPage, PASSWORD } from '../support/fixtures.js';
import { linkIn, startSmtpRelay, type SmtpRelay } from '../support/smtp-relay.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const NEW_PASSWORD = 'a brand new passphrase';

/** Posts the form as a browser behind the trusted proxy at `ip`; the status and the page's main part. */
async function ask(server: TestServer, identifier: string, ip: string): Promise<{ status: number; main: string; retryAfter: string | null }> {
  const response = await fetch(`${server.url}/forgot-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'x-forwarded-for': ip, 'user-agent': 'Forgetful/1.0' },
    body: new URLSearchParams({ identifier }).toString(),
  });
  const body = await response.text();
  return { status: response.status, main: /<main[\s\S]*<\/main>/.exec(body)?.[0] ?? body, retryAfter: response.headers.get('retry-after') };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

for (const backend of BACKENDS) {
  describe(`forgot your password on ${backend}`, function () {
    this.timeout(120_000);
    let relay: SmtpRelay;
    let server: TestServer;
    const run = randomBytes(3).toString('hex');
    const name = (base: string) => `${base}${run}`;
    const poll = () => server.services.mailWorker!.poll();

    before(async function () {
      relay = await startSmtpRelay();
      server = await startTestServer(backend, {
        SMTP_URL: relay.url,
        MAIL_FROM: 'ChillFi3 <auth@example.org>',
        MAIL_POLL_INTERVAL_MS: '600000',
        MAIL_RESET_PER_ACCOUNT_PER_HOUR: '3',
        MAIL_RESET_PER_IP_PER_HOUR: '5',
        AUTH_TRUST_PROXY: '1',
      });
    });
    after(async function () {
      await server?.close();
      await relay?.stop();
    });

    it('is linked from the sign-in page', async function () {
      const { client } = await addInstance(server);
      const { page } = await openLoginPage(client);
      const href = /href="(\/forgot-password\?interaction=[^"]+)"/.exec(page.body)?.[1];
      expect(href, 'a link on the sign-in page').to.be.a('string');
      const form = await new BrowserAgent().open(`${server.url}${href!.replace(/&amp;/g, '&')}`);
      expect(form.status).to.equal(200);
      expect(form.body).to.contain('Username or e-mail address').and.to.contain('Back to sign-in');
    });

    it('mails a link that sets the password once and ends every session of the account, audited', async function () {
      const account = await addAccount(server, name('forgetful'), { email: `forgetful-${run}@example.org` });
      const { client } = await addInstance(server);
      const before = await codeFlow(client, { username: account.username });
      const ip = freshAddress();
      expect((await ask(server, account.username, ip)).status).to.equal(200);
      expect(await poll()).to.equal(1);
      const mail = await relay.next((received) => received.rcptTo.includes(`forgetful-${run}@example.org`));
      expect(mail.parsed.subject).to.equal('Set a new password · ChillFi3 sign-in');
      expect(mail.parsed.from?.value).to.deep.equal([{ address: 'auth@example.org', name: 'ChillFi3' }]);
      expect(mail.parsed.text).to.contain(ip).and.to.contain('Forgetful/1.0').and.to.contain(server.issuer);
      expect(mail.parsed.html).to.be.a('string').and.to.contain('Set a new password');
      const link = linkIn(mail, server.issuer);
      expect(link.startsWith(`${server.issuer}/set-password?token=`)).to.equal(true);

      // One of 20 uses at once wins.
      const token = new URL(link).searchParams.get('token')!;
      const uses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${server.url}/set-password`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
            body: new URLSearchParams({ token, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).toString(),
          }).then((response) => response.status),
        ),
      );
      expect(uses.filter((status) => status === 200)).to.have.length(1);
      expect(uses.filter((status) => status !== 200).every((status) => status === 400)).to.equal(true);

      // The old session's refresh token is dead; the new password signs in.
      let refused: unknown;
      await oidc.refreshTokenGrant(client, before.tokens.refresh_token!).catch((error: unknown) => (refused = error));
      expect(refused).to.be.instanceOf(oidc.ResponseBodyError);
      expect((await server.services.authenticator.signIn(account.username, NEW_PASSWORD)).ok).to.equal(true);
      const actions = (await server.services.dataSource.getRepository(AuditEventEntity).findBy({ accountId: account.id })).map((event) => event.action);
      expect(actions).to.include.members(['account.password_reset_requested', 'account.password_set']);
      // And the owner is told the password changed.
      await poll();
      const notice = await relay.next((received) => received.parsed.subject === 'Your password was changed · ChillFi3 sign-in');
      expect(notice.rcptTo).to.deep.equal([`forgetful-${run}@example.org`]);
    });

    it('answers the same whether the account exists, is disabled, has no address or does not exist; only the first gets mail', async function () {
      const existing = await addAccount(server, name('exists'), { email: `exists-${run}@example.org` });
      const disabled = await addAccount(server, name('disabled'), { email: `disabled-${run}@example.org` });
      await server.services.accountOperations.disable(disabled.id, { accountId: null, via: 'cli' });
      const bare = await addAccount(server, name('bare'));
      const answers = await Promise.all(
        [existing.username, disabled.username, bare.username, name('nobody'), `exists-${run}@example.org`, `nobody-${run}@example.org`].map(
          (identifier) => ask(server, identifier, freshAddress()),
        ),
      );
      expect(answers.map((answer) => answer.status)).to.deep.equal(Array(6).fill(200));
      expect(new Set(answers.map((answer) => answer.main)).size).to.equal(1);
      relay.received.length = 0;
      while ((await poll()) > 0);
      expect(relay.received.map((mail) => mail.rcptTo.join())).to.deep.equal([`exists-${run}@example.org`, `exists-${run}@example.org`].slice(0, relay.received.length));
      expect(relay.received.length).to.be.within(1, 2);
      expect(relay.received.every((mail) => mail.rcptTo.join() === `exists-${run}@example.org`)).to.equal(true);
    });

    it('does the same store work for every request, and takes the same time over many', async function () {
      // Accounts of every kind that may or may not get a mail, each named once (the per-name limit is not what is timed).
      const named: string[] = [];
      for (let i = 0; i < 30; i++) {
        const account = await addAccount(server, name(`timed${i}`), i % 3 === 2 ? {} : { email: `timed${i}-${run}@example.org` });
        if (i % 3 === 1) await server.services.accountOperations.disable(account.id, { accountId: null, via: 'cli' });
        named.push(account.username);
      }
      const statements: string[][] = [[], []];
      const { logger } = server.services.dataSource;
      const logQuery = logger.logQuery.bind(logger);
      let into: string[] | undefined;
      logger.logQuery = (query: string, parameters?: unknown[], runner?: QueryRunner) => {
        const table = /\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?/i.exec(query)?.[1];
        if (into && table) into.push(`${/^\s*(\w+)/.exec(query)?.[1]?.toUpperCase()} ${table}`);
        return logQuery(query, parameters, runner);
      };
      const times: number[][] = [[], []];
      try {
        for (let i = 0; i < named.length; i++) {
          // In turn first and second, so that whatever the order costs falls on both alike.
          const pair = [[0, named[i]!], [1, name(`ghost${i}`)]] as const;
          for (const [which, identifier] of i % 2 === 0 ? pair : [pair[1], pair[0]]) {
            into = i === 0 ? statements[which] : undefined;
            const started = process.hrtime.bigint();
            const answer = await ask(server, identifier, freshAddress());
            times[which]!.push(Number(process.hrtime.bigint() - started) / 1e6);
            expect(answer.status).to.equal(200);
          }
        }
      } finally {
        logger.logQuery = logQuery;
      }
      expect(statements[0]).to.deep.equal(statements[1]);
      const [known, unknown] = [median(times[0]!), median(times[1]!)];
      // Same work, same time: the medians differ by noise only. The bound is loose enough for a machine loaded many
      // times over, so it catches gross differences (a mail sent while the page waits, a relay's round trips); the
      // statements compared above are the exact proof that the page does the same work whatever the name.
      expect(Math.abs(known - unknown), `medians ${known.toFixed(2)} ms and ${unknown.toFixed(2)} ms`).to.be.below(Math.max(5, 0.3 * Math.min(known, unknown)));
      while ((await poll()) > 0);
    });

    it('answers 429 past the limit per name typed and per client address, on the shared store', async function () {
      const account = await addAccount(server, name('limited'), { email: `limited-${run}@example.org` });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await ask(server, account.username, freshAddress())).status);
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
      const refused = await ask(server, account.username.toUpperCase(), freshAddress());
      expect(refused.status).to.equal(429);
      expect(Number(refused.retryAfter)).to.be.within(1, 3600);
      const ip = freshAddress();
      const fromOne: number[] = [];
      for (let i = 0; i < 6; i++) fromOne.push((await ask(server, name(`someone${i}`), ip)).status);
      expect(fromOne).to.deep.equal([200, 200, 200, 200, 200, 429]);
      while ((await poll()) > 0);
    });

    it('sends one account at most the hourly number of mails, however it is named', async function () {
      const account = await addAccount(server, name('capped'), { email: `capped-${run}@example.org` });
      relay.received.length = 0;
      for (const identifier of [account.username, `capped-${run}@example.org`, account.username, `CAPPED-${run}@example.org`, `capped-${run}@EXAMPLE.org`]) {
        expect((await ask(server, identifier, freshAddress())).status).to.equal(200);
      }
      while ((await poll()) > 0);
      expect(relay.received.filter((mail) => mail.rcptTo.includes(`capped-${run}@example.org`))).to.have.length(3);
    });

    it('refuses odd input plainly, never with a 5xx', async function () {
      const cases = ['', '   ', 'x'.repeat(255), 'line\r\nBcc: victim@example.org', 'nul\u0000byte', 'tab\tname'];
      for (const identifier of cases) {
        const answer = await ask(server, identifier, freshAddress());
        expect(answer.status, JSON.stringify(identifier)).to.equal(400);
        expect(answer.main.toLowerCase()).to.contain('type your username or e-mail address');
      }
      // Odd but harmless: the same answer as any other name. Each run types its own (Redis keeps per-name counts for an hour).
      for (const identifier of [`ünïcödé-${run}@exämple.org`, `👀${run}`, `"quoted-${run}"@example.org`]) {
        expect((await ask(server, identifier, freshAddress())).status, identifier).to.equal(200);
      }
      const huge = await fetch(`${server.url}/forgot-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `identifier=${'a'.repeat(20_000)}`,
      });
      expect(huge.status).to.equal(413);
      while ((await poll()) > 0);
    });

    it('refuses a reused, forged or deleted account\'s link plainly', async function () {
      const account = await addAccount(server, name('gone'), { email: `gone-${run}@example.org` });
      await ask(server, account.username, freshAddress());
      await poll();
      const mail = await relay.next((received) => received.rcptTo.includes(`gone-${run}@example.org`));
      const link = linkIn(mail, server.issuer);
      await server.services.accountOperations.delete(account.id, { accountId: null, via: 'cli' });
      expect((await fetch(link, { headers: { accept: 'text/html' } })).status).to.equal(400);
      expect((await fetch(`${server.url}/set-password?token=forged`, { headers: { accept: 'text/html' } })).status).to.equal(400);
    });
  });
}

describe('forgot your password without mail', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server?.close());

  it('says to ask an admin, and queues nothing', async function () {
    const account = await addAccount(server, 'no-mail-here', { email: 'no-mail@example.org' });
    const page = await new BrowserAgent().open(`${server.url}/forgot-password`);
    expect(page.body).to.contain('Ask your admin').and.not.to.contain('<form');
    const answer = await ask(server, account.username, '127.0.0.1');
    expect(answer.main).to.contain('Ask your admin');
    expect(await server.services.mailOutbox.queued()).to.equal(0);
    expect(server.services.mailWorker).to.equal(undefined);
    void PASSWORD;
  });
});
