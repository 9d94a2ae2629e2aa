// First run at `/`: the first admin created from this host's own browser on the embedded default, or with the setup
// token from the log elsewhere; exactly one admin whatever the concurrency; then `/` is the front door.
import { once } from 'node:events';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { BrowserAgent, hiddenInputs } from '../support/browser-agent.js';
import { launchChromium } from '../support/chromium.js';
import { cli } from '../support/cli.js';
import { scratchPostgres } from '../support/databases.js';
import { freshAddress, PASSWORD } from '../support/fixtures.js';
import { freePort } from '../support/free-port.js';
import { output, startMain, waitForLog } from '../support/main-process.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots } from '../support/web.js';

async function adminsOf(server: TestServer): Promise<string[]> {
  const accounts = await server.services.accounts.list();
  return accounts.filter((account) => account.isAdmin).map((account) => account.username);
}

describe('web: first run', function () {
  this.timeout(90_000);
  let browser: Browser;

  before(async function () {
    browser = await launchChromium();
  });
  after(async function () {
    await browser?.close();
  });

  describe('on the embedded default, from this host', function () {
    let server: TestServer;
    let page: Page;
    /** A browser that opened the form before the first admin existed, and its form's CSRF token. */
    const late = new BrowserAgent();
    let lateCsrf: string;

    before(async function () {
      server = await startTestServer('sqlite');
      page = await browser.newPage();
      lateCsrf = hiddenInputs((await late.open(`${server.url}/`)).body)._csrf ?? '';
    });
    after(async function () {
      await server?.close();
    });

    it('offers a form without a setup token, accessible, and saves its screenshots', async function () {
      await page.goto(`${server.url}/`);
      expect(await page.textContent('h1')).to.equal('Set up ChillFi3 sign-in');
      expect(await page.locator('input[name="setup_token"]').count()).to.equal(0);
      await expectAccessible(page, 'first run (/)');
      await screenshots(page, 'first-run');
    });

    it('says every problem at once, each under its field, keeping the username', async function () {
      await page.fill('#username', '<script>alert(1)</script>');
      await page.fill('#password', 'short');
      await page.fill('#confirm', 'shorter');
      // The browser's own minlength check would stop the form: the server's answer is what is tested.
      await page.evaluate(() => (globalThis as unknown as { document: { querySelector(s: string): { noValidate: boolean } } }).document.querySelector('form.form').noValidate = true);
      const [refused] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.click('button:has-text("Create the admin account")')]);
      expect(refused.status()).to.equal(400);
      expect(await page.textContent('.alert-error')).to.equal('3 fields need a change: each problem is said under its field.');
      const said = { username: 'May only hold letters, digits and . _ - @, and must start with a letter or a digit.', password: /^The password must be at least \d+ characters long\.$/, confirm: 'Not the same as the password above.' };
      for (const [id, message] of Object.entries(said)) {
        expect(await page.getAttribute(`#${id}`, 'aria-invalid'), `#${id} marked invalid`).to.equal('true');
        expect(await page.getAttribute(`#${id}`, 'aria-describedby'), `#${id} described by its error`).to.match(new RegExp(`^${id}-error( |$)`));
        const text = await page.textContent(`#${id}-error`);
        if (typeof message === 'string') expect(text).to.equal(message);
        else expect(text).to.match(message);
      }
      expect(await page.inputValue('#username')).to.equal('<script>alert(1)</script>');
      await expectAccessible(page, 'first run with a problem under each field');
      await screenshots(page, 'first-run-problems');

      await page.fill('#username', 'root');
      await page.fill('#password', PASSWORD);
      await page.fill('#confirm', `${PASSWORD}!`);
      await page.click('button:has-text("Create the admin account")');
      expect(await page.textContent('#confirm-error')).to.equal('Not the same as the password above.');
      expect(await page.getAttribute('#username', 'aria-invalid'), 'a good field is not marked').to.equal(null);
      expect(await page.getAttribute('#password', 'aria-describedby'), 'the hint stays').to.equal('password-hint');
      expect(await adminsOf(server)).to.deep.equal([]);
    });

    it('creates the first admin, audited, and hints at registering an instance', async function () {
      await page.fill('#password', PASSWORD);
      await page.fill('#confirm', PASSWORD);
      await page.click('button:has-text("Create the admin account")');
      expect(await page.textContent('h1')).to.equal('Your server is ready');
      expect(await page.getAttribute('a:has-text("Register an example instance")', 'href')).to.equal('/web/sign-in?return_to=%2Fadmin%2Finstances%2Fnew%3Fexample%3Dchillfi3');
      await expectAccessible(page, 'first run done');
      expect(await adminsOf(server)).to.deep.equal(['root']);
      const [created] = (await server.services.audit.query({ actions: ['account.created'] })).events;
      expect(created?.details).to.include({ username: 'root', via: 'web', by: null });
    });

    it('then sends a signed-out visitor to sign in and a signed-in one to their account', async function () {
      await page.click('a:has-text("Sign in")');
      expect(await page.textContent('h1')).to.equal('Sign in');
      await page.fill('input[name="username"]', 'root');
      await page.fill('input[name="password"]', PASSWORD);
      await page.click('button:has-text("Sign in")');
      await page.waitForURL(`${server.url}/account`);
      await page.goto(`${server.url}/`);
      expect(page.url()).to.equal(`${server.url}/account`);
    });

    it('"Register an example instance" opens the register form filled for the example instance', async function () {
      await page.goto(`${server.url}/web/sign-in?return_to=%2Fadmin%2Finstances%2Fnew%3Fexample%3Dchillfi3`);
      await page.waitForURL(`${server.url}/admin/instances/new?example=chillfi3`);
      expect(await page.getByLabel('Name').inputValue()).to.equal('Example');
      expect(await page.getByLabel('ChillFi3 address').inputValue()).to.equal('http://127.0.0.1:4000');
      expect(await page.getByLabel('Redirect URIs', { exact: true }).inputValue()).to.equal('http://127.0.0.1:4000/auth/callback');
      expect(await page.getByLabel('Post-logout redirect URIs').inputValue()).to.equal('http://127.0.0.1:4000/');
      expect(await page.getByLabel('Back-channel logout URI').inputValue()).to.equal('http://127.0.0.1:4000/auth/backchannel-logout');
      expect(await page.getByLabel('client_credentials').isChecked()).to.equal(true);
      expect(await page.getByLabel(/Skip consent/).isChecked()).to.equal(true);
      await expectAccessible(page, 'the register form filled for the example instance');
      await screenshots(page, 'admin-instances-new-example');
      await page.click('button:has-text("Register instance")');
      await page.waitForURL(/\/secret\//);
      expect(await page.locator('.notice-warning').count(), 'loopback over http is not warned of').to.equal(0);
      const clientId = (await page.locator('#client-id').textContent()) as string;
      expect((await server.services.instances.findByClientId(clientId))?.redirectUris).to.deep.equal(['http://127.0.0.1:4000/auth/callback']);
    });

    it('refuses a second first admin from a form opened before the first existed', async function () {
      const answer = await late.open(`${server.url}/`, { form: { _csrf: lateCsrf, username: 'late', password: PASSWORD, confirm: PASSWORD } });
      expect(answer.status).to.equal(409);
      expect(answer.body).to.include('This server has its first admin already');
      expect(await adminsOf(server)).to.deep.equal(['root']);
    });
  });

  it('asks a visitor from elsewhere for the setup token on the embedded default too (through a trusted proxy)', async function () {
    const server = await startTestServer('sqlite', { AUTH_TRUST_PROXY: '127.0.0.1/32' });
    try {
      const token = await server.services.firstRun.issueSetupToken();
      const remote = new BrowserAgent({ 'x-forwarded-for': freshAddress() });
      const form = await remote.open(`${server.url}/`);
      expect(form.body).to.include('name="setup_token"');
      const { _csrf } = hiddenInputs(form.body);
      const fields = { _csrf: _csrf ?? '', username: 'root', password: PASSWORD, confirm: PASSWORD };
      expect((await remote.open(`${server.url}/`, { form: fields })).status, 'no token').to.equal(403);
      expect(await adminsOf(server)).to.deep.equal([]);
      expect((await remote.open(`${server.url}/`, { form: { ...fields, setup_token: token } })).body).to.include('Your server is ready');
    } finally {
      await server.close();
    }
  });

  describe('elsewhere (PostgreSQL), with the setup token from the log', function () {
    let server: TestServer;
    let token: string;

    before(async function () {
      server = await startTestServer('postgres');
      token = await server.services.firstRun.issueSetupToken();
    });
    after(async function () {
      await server?.close();
    });

    it('asks for the token, refuses a wrong one (403), takes the right one once', async function () {
      const again = new BrowserAgent();
      const { _csrf } = hiddenInputs((await again.open(`${server.url}/`)).body);
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await expectAccessible(page, 'first run with a setup token');
      await page.fill('#setup_token', 'not-the-token');
      await page.fill('#username', 'root');
      await page.fill('#password', PASSWORD);
      await page.fill('#confirm', PASSWORD);
      const refused = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.click('button:has-text("Create")')]);
      expect(refused[0].status()).to.equal(403);
      expect(await page.textContent('#setup_token-error')).to.match(/^That setup token is not right/);
      expect(await page.getAttribute('#setup_token', 'aria-invalid')).to.equal('true');
      expect(await adminsOf(server)).to.deep.equal([]);

      await page.fill('#setup_token', token);
      await page.fill('#password', PASSWORD);
      await page.fill('#confirm', PASSWORD);
      await page.click('button:has-text("Create")');
      expect(await page.textContent('h1')).to.equal('Your server is ready');
      expect(await adminsOf(server)).to.deep.equal(['root']);
      expect(await server.services.firstRun.isSetupToken(token), 'every setup token withdrawn').to.equal(false);

      const second = await again.open(`${server.url}/`, { form: { _csrf: _csrf ?? '', setup_token: token, username: 'second', password: PASSWORD, confirm: PASSWORD } });
      expect(second.status).to.equal(409);
      expect(await adminsOf(server)).to.deep.equal(['root']);
    });
  });

  it('the server started as `npm start` does logs a setup token at start while it has no admin, and the form takes it', async function () {
    const database = await scratchPostgres();
    const env = { ...database.env, AUTH_SECRET_KEY: 's'.repeat(40) };
    try {
      expect((await cli(env, ['migrate'])).code).to.equal(0);
      const port = await freePort();
      const child = startMain({ ...env, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', AUTH_ISSUER: `http://127.0.0.1:${port}` });
      try {
        const read = output(child);
        await waitForLog(read, /chillfi3-auth listening/, child);
        const line = read().split('\n').find((entry) => entry.includes('setupToken'));
        const { setupToken, url } = JSON.parse(line ?? '{}') as { setupToken?: string; url?: string };
        expect(url).to.equal(`http://127.0.0.1:${port}/`);
        const agent = new BrowserAgent();
        const { _csrf } = hiddenInputs((await agent.open(`http://127.0.0.1:${port}/`)).body);
        const done = await agent.open(`http://127.0.0.1:${port}/`, {
          form: { _csrf: _csrf ?? '', setup_token: setupToken ?? '', username: 'root', password: PASSWORD, confirm: PASSWORD },
        });
        expect(done.body).to.include('Your server is ready');
      } finally {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    } finally {
      await database.drop();
    }
  });

  for (const backend of BACKENDS) {
    it(`creates exactly one admin from 20 simultaneous submissions (${backend})`, async function () {
      const server = await startTestServer(backend);
      try {
        const token = await server.services.firstRun.issueSetupToken();
        const submissions = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const agent = new BrowserAgent();
            const { _csrf } = hiddenInputs((await agent.open(`${server.url}/`)).body);
            return { agent, form: { _csrf: _csrf ?? '', setup_token: token, username: `admin${i}`, password: PASSWORD, confirm: PASSWORD } };
          }),
        );
        const answers = await Promise.all(submissions.map(({ agent, form }) => agent.open(`${server.url}/`, { form })));
        expect(answers.filter((answer) => answer.body.includes('Your server is ready'))).to.have.length(1);
        expect(answers.filter((answer) => answer.status !== 409)).to.have.length(1);
        expect(await adminsOf(server)).to.have.length(1);
      } finally {
        await server.close();
      }
    });
  }
});

// Issue 16, item 7: a setup token logged at a start outlived the first admin made from the shell; after the last admin
// was demoted from the shell, that token (on PostgreSQL) or any local-looking request (on SQLite) made a new admin.
for (const backend of BACKENDS) {
  describe(`first run is over for good once an admin exists, by any path (${backend})`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let token: string;
    /** Someone away from this host who opened the form while first run was open: its CSRF token, and the old setup token. */
    const remote = new BrowserAgent({ 'x-forwarded-for': freshAddress() });
    let remoteForm: Record<string, string>;

    beforeEach(async function () {
      // Through a trusted proxy, so that the remote visitor is remote on SQLite too.
      server = await startTestServer(backend, { AUTH_TRUST_PROXY: '127.0.0.1/32' });
      // What a start does while the server has no admin (src/main.ts): a token for its log.
      token = await server.services.firstRun.issueSetupToken();
      const { _csrf } = hiddenInputs((await remote.open(`${server.url}/`)).body);
      remoteForm = { _csrf: _csrf ?? '', setup_token: token, username: 'intruder', password: PASSWORD, confirm: PASSWORD };
    });
    afterEach(() => server.close());

    const shell = (argv: string[], stdin = '') => cli(server.env, argv, stdin);

    async function expectClosed(): Promise<void> {
      expect(await server.services.firstRun.isSetupToken(token), 'the setup token is withdrawn').to.equal(false);
      const answer = await remote.open(`${server.url}/`, { form: remoteForm });
      expect(answer.status).to.equal(409);
      expect(answer.body).to.include('This server has its first admin already');
      expect((await remote.open(`${server.url}/`)).body, 'no first-run form').not.to.include('name="setup_token"');
      expect(await adminsOf(server)).not.to.include('intruder');
    }

    it('withdraws the logged setup token when the shell adds an admin (users add --admin)', async function () {
      expect((await shell(['users', 'add', '--username', 'root', '--password-stdin', '--admin'], `${PASSWORD}\n`)).code).to.equal(0);
      await expectClosed();
    });

    it('withdraws it on users make-admin; the last admin goes only with --force, and first run does not reopen', async function () {
      expect((await shell(['users', 'add', '--username', 'alice', '--password-stdin'], `${PASSWORD}\n`)).code).to.equal(0);
      expect(await server.services.firstRun.isSetupToken(token), 'an ordinary account ends nothing').to.equal(true);
      expect((await shell(['users', 'make-admin', 'alice'])).code).to.equal(0);
      await expectClosed();

      for (const argv of [['users', 'revoke-admin', 'alice'], ['users', 'disable', 'alice'], ['users', 'delete', 'alice']]) {
        const refused = await shell(argv);
        expect(refused.code, argv.join(' ')).to.equal(73); // a conflict (src/cli/exit-codes.ts)
        expect(refused.stderr).to.equal('error: "alice" is the last enabled admin of this server: make another account an admin first, or give --force\n');
      }
      expect(await adminsOf(server)).to.deep.equal(['alice']);

      const forced = await shell(['users', 'revoke-admin', 'alice', '--force']);
      expect(forced.code).to.equal(0);
      expect(forced.stdout).to.equal('"alice" is no longer an administrator.\n');
      expect(forced.stderr).to.match(/^warning: "alice" was the last enabled admin: this server has none now, and its first-run page does not open again\. .*users make-admin/);
      expect(await adminsOf(server)).to.deep.equal([]);
      await expectClosed();
      // Nor for this host's own browser on the embedded default: `/` is the front door.
      const local = new BrowserAgent();
      const front = await local.open(`${server.url}/`);
      expect(front.body).not.to.include('Set up ChillFi3 sign-in');
      expect(front.url).to.include('/interaction/');

      expect((await shell(['users', 'make-admin', 'alice'])).code, 'the way back').to.equal(0);
      expect(await adminsOf(server)).to.deep.equal(['alice']);
    });
  });
}
