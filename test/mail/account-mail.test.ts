// Links, verification and notices by mail, through every way of asking (admin API, CLI, account operations), against
// a real SMTP server on loopback, on every store set-up; and the refusals: no mail configured, no address, addresses
// that could carry a header or that no relay can deliver.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { ConfigError, loadConfig } from '../../config/index.js';
import type { Actor } from '../../src/admin/account-operations.js';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../../src/instances/instance-store.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { enrolTotp, submitForm, totpCode } from '../support/mfa.js';
import { cli, cliJson } from '../support/cli.js';
import { addAccount, addInstance, authorizationRequest, codeFlow, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { linkIn, startSmtpRelay, type SmtpRelay } from '../support/smtp-relay.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR: Actor = { accountId: null, via: 'cli' };
const NEW_PASSWORD = 'a brand new passphrase';

for (const backend of BACKENDS) {
  describe(`mail about accounts on ${backend}`, function () {
    this.timeout(120_000);
    let relay: SmtpRelay;
    let server: TestServer;
    let openApi: OpenApiCheck;
    let adminPage: Awaited<ReturnType<typeof addInstance>>;
    let adminToken: string;
    const run = randomBytes(3).toString('hex');
    // The server's clock runs with real time (the CLI, another process, queues mail by it) and the second-factor test
    // moves it on by a TOTP period after enrolling.
    let clockOffset = 0;
    const clock = () => Date.now() + clockOffset;
    const name = (base: string) => `${base}${run}`;
    const address = (base: string) => `${base}-${run}@example.org`;
    const poll = async () => {
      while ((await server.services.mailWorker!.poll()) > 0);
    };
    const mailTo = (to: string, subject?: string) =>
      relay.next((mail) => mail.rcptTo.includes(to) && (subject === undefined || mail.parsed.subject === `${subject} · ChillFi3 sign-in`));

    async function api(method: string, path: string, body?: unknown) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      openApi.check(method, response.url, response.status, response.headers.get('content-type'), text);
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { detail?: string; title?: string } };
    }

    async function setPasswordThrough(link: string): Promise<number> {
      const token = new URL(link).searchParams.get('token')!;
      const response = await fetch(`${server.url}/set-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({ token, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).toString(),
      });
      return response.status;
    }

    before(async function () {
      relay = await startSmtpRelay();
      server = await startTestServer(backend, { SMTP_URL: relay.url, MAIL_FROM: 'auth@example.org', MAIL_POLL_INTERVAL_MS: '600000' }, { clock });
      adminPage = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      await addAccount(server, name('root'), { isAdmin: true });
      adminToken = (await codeFlow(adminPage.client, { username: name('root'), scope: `openid profile ${ADMIN_SCOPE}` })).tokens.access_token;
      openApi = new OpenApiCheck((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument);
    });
    after(async function () {
      await server?.close();
      await relay?.stop();
    });

    it('mails a set-password link through the admin API when asked (deliver=mail), and shows it otherwise', async function () {
      const account = await addAccount(server, name('apilink'), { email: address('apilink') });
      const mailed = await api('POST', `/users/${account.id}/password-link?deliver=mail`);
      expect(mailed.status).to.equal(200);
      expect(mailed.body).to.have.keys('passwordLinkMailed');
      expect(mailed.body.passwordLinkMailed).to.include({ to: address('apilink') });
      await poll();
      const mail = await mailTo(address('apilink'), 'Set your password');
      expect(mail.parsed.text).to.contain('asked you to set a new password');
      expect(await setPasswordThrough(linkIn(mail, server.issuer))).to.equal(200);
      const shown = await api('POST', `/users/${account.id}/password-link`);
      expect(shown.body).to.have.keys('passwordLink');
      expect((await api('POST', `/users/${account.id}/password-link?deliver=carrier-pigeon`)).status).to.equal(400);
    });

    it('registers an account without a password and mails it its link; clears a password with the link mailed', async function () {
      const registered = await api('POST', '/auth/register?deliver=mail', { username: name('newcomer'), email: address('newcomer') });
      expect(registered.status).to.equal(201);
      expect(registered.body).to.have.keys('user', 'passwordLinkMailed');
      await poll();
      const welcome = await mailTo(address('newcomer'), 'Set your password');
      expect(welcome.parsed.text).to.contain('made an account for you');
      expect(await setPasswordThrough(linkIn(welcome, server.issuer))).to.equal(200);
      const id = (registered.body.user as { id: string }).id;
      const cleared = await api('PUT', `/users/${id}/password?deliver=mail`, { password: null });
      expect(cleared.status).to.equal(200);
      expect(cleared.body).to.have.keys('passwordLinkMailed');
      expect(await server.services.accounts.hasPassword(id)).to.equal(false);
    });

    it('refuses to mail a link to an account without an address, before anything changes', async function () {
      const bare = await addAccount(server, name('bare'));
      const refused = await api('PUT', `/users/${bare.id}/password?deliver=mail`, { password: null });
      expect(refused.status).to.equal(409);
      expect(refused.body.title).to.equal('no_email');
      expect(await server.services.accounts.hasPassword(bare.id)).to.equal(true);
      const register = await api('POST', '/auth/register?deliver=mail', { username: name('nomail') });
      expect(register.status).to.equal(409);
      expect(await server.services.accounts.findByUsername(name('nomail'))).to.equal(null);
    });

    it('mails a link from the CLI with --mail (the server sends it), and prints it otherwise', async function () {
      const account = await addAccount(server, name('clilink'), { email: address('clilink') });
      const mailed = await cliJson<{ passwordLinkMailed: { to: string } }>(server.env, ['users', 'password-link', account.username, '--mail']);
      expect(mailed.passwordLinkMailed.to).to.equal(address('clilink'));
      await poll();
      const mail = await mailTo(address('clilink'), 'Set your password');
      expect(await setPasswordThrough(linkIn(mail, server.issuer))).to.equal(200);
      const added = await cliJson<{ passwordLinkMailed: { to: string } }>(server.env, ['users', 'add', '--username', name('cliadd'), '--no-password', '--email', address('cliadd'), '--mail']);
      expect(added.passwordLinkMailed.to).to.equal(address('cliadd'));
      const usage = await cli(server.env, ['users', 'add', '--username', name('cliadd2'), '--password-stdin', '--mail'], 'some long password\n');
      expect(usage.code).to.equal(2);
    });

    it('verifies a new or changed address by its link: email_verified in userinfo only after it was followed', async function () {
      const account = await addAccount(server, name('verify'));
      const instance = await addInstance(server);
      await server.services.accountOperations.updateProfile(account.id, { email: address('verify') }, OPERATOR);
      await poll();
      const mail = await mailTo(address('verify'), 'Confirm your e-mail address');
      const claims = async () => {
        const { tokens } = await codeFlow(instance.client, { username: account.username, scope: 'openid email' });
        return oidc.fetchUserInfo(instance.client, tokens.access_token, account.id);
      };
      expect(await claims()).to.include({ email: address('verify'), email_verified: false });
      const link = linkIn(mail, server.issuer);
      const agent = new BrowserAgent();
      const page = await agent.open(link);
      expect(page.status).to.equal(200);
      expect(page.body).to.contain(address('verify'));
      // Opening the link changed nothing (mail scanners open links); confirming does.
      expect((await server.services.accounts.get(account.id)).emailVerified).to.equal(false);
      const token = new URL(link).searchParams.get('token')!;
      const confirm = () => agent.open(`${server.url}/verify-email`, { form: { token } });
      const confirms = await Promise.all(Array.from({ length: 10 }, confirm));
      expect(confirms.filter((answer) => answer.status === 200)).to.have.length(1);
      expect(confirms.filter((answer) => answer.status === 400)).to.have.length(9);
      expect(await claims()).to.include({ email_verified: true });
      // A changed address is unverified again, and the old address's link is no use for it.
      await server.services.accountOperations.updateProfile(account.id, { email: address('verify2') }, OPERATOR);
      expect(await claims()).to.include({ email: address('verify2'), email_verified: false });
      await poll();
      const second = await mailTo(address('verify2'), 'Confirm your e-mail address');
      await server.services.accountOperations.updateProfile(account.id, { email: address('verify3') }, OPERATOR);
      const stale = await agent.open(`${server.url}/verify-email`, { form: { token: new URL(linkIn(second, server.issuer)).searchParams.get('token')! } });
      expect(stale.status).to.equal(400);
      expect((await server.services.accounts.get(account.id)).emailVerified).to.equal(false);
    });

    it('mails a notice at a sign-in from a new browser to those who asked for it, and none from a known one', async function () {
      const account = await addAccount(server, name('watchful'), { email: address('watchful') });
      await server.services.accountOperations.setSignInNotices(account.id, true, OPERATOR);
      const instance = await addInstance(server);
      const agent = new BrowserAgent({ 'user-agent': 'Watchful browser' });
      await codeFlow(instance.client, { agent, username: account.username });
      await poll();
      const notice = await mailTo(address('watchful'), 'New sign-in to your account');
      expect(notice.parsed.text).to.contain('Watchful browser').and.to.contain('change your password');
      const before = relay.received.length;
      await server.services.accountSessions.endAll(account.id);
      await codeFlow(instance.client, { agent, username: account.username });
      await poll();
      expect(relay.received.slice(before).filter((mail) => mail.rcptTo.includes(address('watchful')))).to.deep.equal([]);
      // Someone who did not ask gets none.
      const quiet = await addAccount(server, name('quiet'), { email: address('quiet') });
      await codeFlow(instance.client, { username: quiet.username });
      await poll();
      expect(relay.received.filter((mail) => mail.rcptTo.includes(address('quiet')))).to.deep.equal([]);
    });

    it('mails the new-browser notice when the sign-in ends at the second step, once the code is right', async function () {
      const account = await addAccount(server, name('stepped'), { email: address('stepped') });
      await server.services.accountOperations.setSignInNotices(account.id, true, OPERATOR);
      const secret = await enrolTotp(server, account);
      clockOffset += 30_000;
      const { client } = await addInstance(server);
      const agent = new BrowserAgent({ 'user-agent': 'Stepped browser' });
      const request = await authorizationRequest(client);
      const step = await agent.signIn(await agent.open(request.url, {}, REDIRECT_URI), account.username, PASSWORD, REDIRECT_URI);
      await poll();
      expect(relay.received.filter((mail) => mail.rcptTo.includes(address('stepped'))), 'nothing before the second step').to.deep.equal([]);
      const done = await submitForm(agent, step, { code: totpCode(secret, clock()) }, REDIRECT_URI);
      expect(done.url).to.contain(REDIRECT_URI);
      await poll();
      const notice = await mailTo(address('stepped'), 'New sign-in to your account');
      expect(notice.parsed.text).to.contain('Stepped browser');
    });

    it('refuses addresses that could carry a header, that are lists or named, or that relays cannot deliver', async function () {
      const account = await addAccount(server, name('odd'));
      const refused = [
        `odd-${run}@example.org\r\nBcc: victim@example.org`,
        `odd-${run}@example.org\nBcc: victim@example.org`,
        `Odd <odd-${run}@example.org>`,
        `odd-${run}@example.org, victim@example.org`,
        `"odd"@example.org`,
        `jöhn-${run}@example.org`,
        `${'a'.repeat(65)}@example.org`,
        `odd@${'a'.repeat(64)}.org`,
        `odd@-example.org`,
        `odd@example`,
        `odd\u0000@example.org`,
      ];
      for (const email of refused) {
        const answer = await api('PUT', `/users/${account.id}`, { email });
        expect(answer.status, JSON.stringify(email)).to.equal(400);
      }
      // An internationalised domain is mailed in its ASCII form.
      const idn = await api('PUT', `/users/${account.id}`, { email: `odd-${run}@exämple.org` });
      expect(idn.status).to.equal(200);
      await poll();
      // (smtp-server shows the envelope's domain in Unicode again; the header says what was sent.)
    const mail = await mailTo(`odd-${run}@exämple.org`);
    expect(mail.raw).to.match(new RegExp(`^To: odd-${run}@xn--exmple-cua\\.org\\r?$`, 'm'));
    expect(mail.raw.match(/^(To|Bcc|Cc):/gim)).to.deep.equal(['To:']);
    });
  });
}

describe('mail configuration', function () {
  const base = { AUTH_SECRET_KEY: 'x'.repeat(40), AUTH_DATA_DIR: '/tmp/chillfi3-mail-config-test' };

  it('is off without SMTP_URL, and takes smtp:// and smtps:// with the user and password in the URL or apart', function () {
    expect(loadConfig(base).mail).to.equal(undefined);
    const plain = loadConfig({ ...base, SMTP_URL: 'smtp://relay.example.org:2525', AUTH_ISSUER: 'https://auth.example.org' })!.mail!;
    expect(plain).to.include({ host: 'relay.example.org', port: 2525, secure: false, from: 'no-reply@auth.example.org', rejectUnauthorized: true });
    expect(plain.auth).to.equal(undefined);
    const inUrl = loadConfig({ ...base, SMTP_URL: 'smtps://mailer:s%40cret@relay.example.org' }).mail!;
    expect(inUrl).to.include({ port: 465, secure: true, relay: 'smtps://relay.example.org' });
    expect(inUrl.auth).to.deep.equal({ user: 'mailer', pass: 's@cret' });
    const apart = loadConfig({ ...base, SMTP_URL: 'smtp://relay.example.org', SMTP_USER: 'u', SMTP_PASSWORD: 'p', SMTP_TLS_REJECT_UNAUTHORIZED: 'false' }).mail!;
    expect(apart).to.include({ port: 587, rejectUnauthorized: false });
    expect(apart.auth).to.deep.equal({ user: 'u', pass: 'p' });
    // The relay as logged never holds the password.
    expect(JSON.stringify({ relay: inUrl.relay, from: inUrl.from })).not.to.contain('s@cret').and.not.to.contain('s%40cret');
  });

  it('refuses another scheme, a user without a password, and a sender that is not one address', function () {
    for (const env of [
      { SMTP_URL: 'http://relay.example.org' },
      { SMTP_URL: 'smtp://relay.example.org', SMTP_USER: 'only-user' },
      { SMTP_URL: 'smtp://relay.example.org', MAIL_FROM: 'Evil\r\nBcc: victim@example.org <a@example.org>' },
      { SMTP_URL: 'smtp://relay.example.org', MAIL_FROM: 'a@example.org, b@example.org' },
      { SMTP_URL: 'smtp://relay.example.org', MAIL_RESET_PER_ACCOUNT_PER_HOUR: '0' },
    ]) {
      expect(() => loadConfig({ ...base, ...env }), JSON.stringify(env)).to.throw(ConfigError);
    }
  });
});

describe('links by mail without mail configured', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server?.close());

  it('refuses plainly (409, exit 73), and hands out links as before', async function () {
    const account = await addAccount(server, 'unmailed', { email: 'unmailed@example.org' });
    let refused: unknown;
    await server.services.accountOperations.mailPasswordLink(account.id, OPERATOR).catch((error: unknown) => (refused = error));
    expect(refused).to.include({ status: 409, code: 'mail_not_configured' });
    const run = await cli(server.env, ['users', 'password-link', 'unmailed', '--mail']);
    expect(run.code).to.equal(73);
    expect(run.stderr).to.contain('sends no mail');
    expect((await server.services.accountOperations.issuePasswordLink(account.id, OPERATOR)).url).to.contain('/set-password?token=');
    expect(await server.services.mailOutbox.queued()).to.equal(0);
  });
});
