// The durable outbox and its workers, against a real SMTP server on loopback: a relay that is down delays mail and
// never loses it, two nodes polling send each mail once, a lease of a node that died runs out, sent mail keeps no
// payload and goes after the retention, /readyz does not depend on the relay. Time comes from the test's clock; the
// workers' own timers are set far apart, and the test polls each node itself where the order matters.
import { expect } from 'chai';
import { OutboxEntity } from '../../src/mail/outbox-entity.js';
import type { MailWorker } from '../../src/mail/mail-worker.js';
import { registry } from '../../src/metrics/metrics.js';
import { addAccount } from '../support/fixtures.js';
import { startSmtpRelay, type SmtpRelay } from '../support/smtp-relay.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const ORIGIN = { ip: '192.0.2.7', userAgent: 'Test browser' };

async function metric(name: string, kind: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const value = found?.values.find((entry) => entry.labels.kind === kind);
  return Number(value?.value ?? 0);
}

for (const backend of BACKENDS) {
  describe(`mail outbox on ${backend}`, function () {
    this.timeout(60_000);
    let relay: SmtpRelay;
    let first: TestServer;
    let second: TestServer;
    let now: number;
    const worker = (server: TestServer): MailWorker => server.services.mailWorker!;
    const pollBoth = () => Promise.all([worker(first).poll(), worker(second).poll()]);

    before(async function () {
      relay = await startSmtpRelay();
      now = Date.now();
      const env = { SMTP_URL: relay.url, MAIL_FROM: 'ChillFi3 <auth@example.org>', MAIL_POLL_INTERVAL_MS: '600000', MAIL_RETENTION_DAYS: '7' };
      first = await startTestServer(backend, env, { clock: () => now });
      second = await startTestServer(backend, {}, { join: first });
    });

    after(async function () {
      await second?.close();
      await first?.close();
      await relay?.stop();
    });

    beforeEach(async function () {
      await relay.start();
      relay.received.length = 0;
    });

    it('keeps mail while the relay is down, and delivers each once when it is back, with two nodes polling', async function () {
      const account = await addAccount(first, `down${backend.replace(/\W/g, '')}`, { email: 'down@example.org' });
      const failuresBefore = await metric('chillfi3_auth_mail_send_failures_total', 'password_changed');
      const sentBefore = await metric('chillfi3_auth_mail_sent_total', 'password_changed');
      await relay.stop();
      for (let i = 0; i < 5; i++) await first.services.accountMail.notice(account, 'password_changed', ORIGIN);
      const [a, b] = await pollBoth();
      expect(a + b).to.equal(5);
      const rows = await first.services.dataSource.getRepository(OutboxEntity).findBy({ accountId: account.id });
      expect(rows.map((row) => [row.state, row.attempts, row.leaseOwner])).to.deep.equal(Array(5).fill(['queued', 1, null]));
      expect(rows.every((row) => row.lastError !== null && row.nextAttemptAt.getTime() > now)).to.equal(true);
      expect(await metric('chillfi3_auth_mail_send_failures_total', 'password_changed')).to.equal(failuresBefore + 5);
      // Backing off: nothing is due yet.
      await relay.start();
      expect(await pollBoth()).to.deep.equal([0, 0]);
      now += 6_000;
      const [c, d] = await pollBoth();
      expect(c + d).to.equal(5);
      expect(await pollBoth()).to.deep.equal([0, 0]);
      expect(relay.received).to.have.length(5);
      expect(new Set(relay.received.map((mail) => mail.parsed.messageId)).size).to.equal(5);
      expect(relay.received.every((mail) => mail.rcptTo.join() === 'down@example.org')).to.equal(true);
      expect(await metric('chillfi3_auth_mail_sent_total', 'password_changed')).to.equal(sentBefore + 5);
      const sent = await first.services.dataSource.getRepository(OutboxEntity).findBy({ accountId: account.id });
      expect(sent.map((row) => [row.state, row.payload])).to.deep.equal(Array(5).fill(['sent', '']));
    });

    it('sends each of many mails once while two nodes poll at the same time, again and again', async function () {
      const account = await addAccount(first, `many${backend.replace(/\W/g, '')}`, { email: 'many@example.org' });
      for (let i = 0; i < 25; i++) await first.services.accountMail.notice(account, 'new_browser_sign_in', { ip: `192.0.2.${i}`, userAgent: null });
      let handled = 0;
      for (let round = 0; round < 10; round++) {
        const counts = (await Promise.all(Array.from({ length: 4 }, () => pollBoth()))).flat();
        const sum = counts.reduce((total, count) => total + count, 0);
        if (sum === 0) break;
        handled += sum;
      }
      expect(handled).to.equal(25);
      expect(relay.received).to.have.length(25);
      const addresses = relay.received.map((mail) => /address (192\.0\.2\.\d+)/.exec(mail.parsed.text ?? '')?.[1]);
      expect(new Set(addresses).size).to.equal(25);
    });

    it('lets another node send a mail whose sender died mid-send, once its lease runs out', async function () {
      const account = await addAccount(first, `lease${backend.replace(/\W/g, '')}`, { email: 'lease@example.org' });
      await first.services.accountMail.notice(account, 'password_changed', ORIGIN);
      const taken = await first.services.mailOutbox.claim('a-node-that-dies', 10, 60);
      expect(taken).to.have.length(1);
      expect(await worker(second).poll()).to.equal(0);
      now += 61_000;
      expect(await worker(second).poll()).to.equal(1);
      const mail = await relay.next();
      expect(mail.parsed.subject).to.equal('Your password was changed · ChillFi3 sign-in');
      expect(relay.received).to.have.length(1);
    });

    it('deletes sent mail after the retention, and gives up mail the relay never took within MAIL_GIVE_UP_HOURS', async function () {
      const account = await addAccount(first, `old${backend.replace(/\W/g, '')}`, { email: 'old@example.org' });
      const rows = first.services.dataSource.getRepository(OutboxEntity);
      await relay.stop();
      await first.services.accountMail.notice(account, 'password_changed', ORIGIN);
      await worker(first).poll();
      now += 73 * 3_600_000;
      await worker(first).poll();
      expect((await rows.findBy({ accountId: account.id })).map((row) => [row.state, row.payload])).to.deep.equal([['failed', '']]);
      expect(await first.services.mailOutbox.prune(new Date(now + 1))).to.be.at.least(1);
      expect(await rows.findBy({ accountId: account.id })).to.deep.equal([]);
    });

    it('answers /readyz as ready while the relay is down, and no page fails for it', async function () {
      await relay.stop();
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).to.equal(200);
      const account = await addAccount(first, `ready${backend.replace(/\W/g, '')}`, { email: 'ready@example.org' });
      const user = await first.services.accountOperations.mailPasswordLink(account.id, { accountId: null, via: 'cli' });
      expect(user.mailedTo).to.equal('ready@example.org');
    });
  });
}

for (const backend of BACKENDS) {
  describe(`mail outbox with the workers' own timers on ${backend}`, function () {
    this.timeout(60_000);
    let relay: SmtpRelay;
    let first: TestServer;
    let second: TestServer;

    before(async function () {
      relay = await startSmtpRelay();
      // Both nodes poll every 50 ms; a refused mail is tried again a second later.
      const env = { SMTP_URL: relay.url, MAIL_POLL_INTERVAL_MS: '50', MAIL_RETRY_MAX_SECONDS: '1' };
      first = await startTestServer(backend, env);
      second = await startTestServer(backend, {}, { join: first });
    });
    after(async function () {
      await second?.close();
      await first?.close();
      await relay?.stop();
    });

    it('retries while the relay refuses, and delivers each mail exactly once when it takes them again', async function () {
      relay.refusing = true;
      const account = await addAccount(first, `timers${backend.replace(/\W/g, '')}`, { email: 'timers@example.org' });
      for (let i = 0; i < 4; i++) await second.services.accountMail.notice(account, 'new_browser_sign_in', { ip: `198.51.100.${i}`, userAgent: null });
      // Every mail refused at least twice: first tries and retries, by whichever node polled first.
      await relay.refused(8);
      expect(relay.received).to.have.length(0);
      relay.refusing = false;
      for (let i = 0; i < 4; i++) await relay.next((mail) => (mail.parsed.text ?? '').includes(`198.51.100.${i}`));
      // Both nodes keep polling: the settled outbox sends nothing more (each mail marked sent by the node that sent it).
      const rows = first.services.dataSource.getRepository(OutboxEntity);
      const settled = async () => (await rows.findBy({ accountId: account.id })).every((row) => row.state === 'sent');
      while (!(await settled())) await new Promise((resolve) => setTimeout(resolve, 50));
      await Promise.all([first.services.mailWorker!.poll(), second.services.mailWorker!.poll()]);
      expect(relay.received).to.have.length(4);
    });
  });
}
