// The server's own pages sign in through its provider and share its SSO session: the way to the sign-in page and
// back, the callback's checks, the guards (signed in, admin, fresh sign-in, CSRF) and signing out.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { cookieKeys } from '../../src/provider/cookie-keys.js';
import { FRESH_SIGN_IN_SECONDS, webGuards } from '../../src/web/web-session.js';
import { launchChromium } from '../support/chromium.js';
import { addAccount } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

describe('web: signing in to the server’s own pages', function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** A bare app on another port with routes behind the admin and fresh guards: cookies are shared across ports. */
  let probe: Server;
  let probeUrl: string;

  before(async function () {
    [server, browser] = await Promise.all([startTestServer('sqlite'), launchChromium()]);
    await addAccount(server, 'erin');
    // Set up: `/` is the front door, not first run.
    await addAccount(server, 'root', { isAdmin: true });
    const guards = webGuards(server.services);
    const router = new Router();
    router.get('/admin-only', guards.signedIn, guards.admin, (ctx) => {
      ctx.body = 'admin';
    });
    router.get('/fresh-only', guards.signedIn, guards.fresh, (ctx) => {
      ctx.body = 'fresh';
    });
    router.post('/fresh-only', guards.signedIn, guards.fresh, (ctx) => {
      ctx.body = 'fresh';
    });
    const app = new Koa({ keys: cookieKeys(server.services.config) });
    app.use(router.routes());
    probe = createServer(app.callback());
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  });
  after(async function () {
    probe?.close();
    await browser?.close();
    await server?.close();
  });
  beforeEach(async function () {
    context = await browser.newContext();
    page = await context.newPage();
  });
  afterEach(async function () {
    await context.close();
  });

  async function signIn(username = 'erin'): Promise<void> {
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', 'correct horse battery staple');
    await page.click('button:has-text("Sign in")');
  }

  it('sends a signed-out visitor through the real sign-in page and back to the page asked for', async function () {
    await page.goto(`${server.url}/account?from=test`);
    expect(await page.textContent('h1')).to.equal('Sign in');
    expect(await page.textContent('.lead')).to.include('your ChillFi3 account');
    await expectAccessible(page, 'sign-in page for the account page');
    await signIn();
    await page.waitForURL(`${server.url}/account?from=test`);
    expect(await page.textContent('.top-nav-username')).to.equal('erin');
    const [login] = (await server.services.audit.query({ actions: ['login'] })).events;
    expect(login).to.deep.include({ outcome: 'success' });
    expect(login?.details).to.include({ client_id: 'chillfi3-auth-console' });
  });

  it('answers a signed-out form post with 303 to sign in', async function () {
    const response = await page.request.post(`${server.url}/account/profile`, { form: { displayName: 'x' }, maxRedirects: 0 });
    expect(response.status()).to.equal(303);
    const location = new URL(response.headers().location ?? '');
    expect(`${location.origin}${location.pathname}`).to.equal(`${server.issuer}/auth`);
    expect(location.searchParams.get('response_type')).to.equal('none');
  });

  it('refuses a callback whose state it did not issue', async function () {
    const response = await page.goto(`${server.url}/web/callback?state=AAAAAAAAAAAAAAAAAAAAAA`);
    expect(response?.status()).to.equal(400);
    expect(await page.textContent('.error-description')).to.include('this sign-in expired or was not started here');
    await expectAccessible(page, 'the callback refusing a state');
  });

  it('never sends the browser to another site after signing in', async function () {
    for (const returnTo of ['https://evil.example/x', '//evil.example/x', '/\\evil.example']) {
      await page.goto(`${server.url}/web/sign-in?return_to=${encodeURIComponent(returnTo)}`);
      if ((await page.textContent('h1')) === 'Sign in') await signIn();
      await page.waitForURL(`${server.url}/account`);
    }
    // Even a sign-in cookie signed with the server's own keys naming another site is not followed.
    const state = 'BBBBBBBBBBBBBBBBBBBBBB';
    const name = `web.signin.${state}`;
    const value = Buffer.from(JSON.stringify({ state, returnTo: 'https://evil.example/' })).toString('base64url');
    const [key] = cookieKeys(server.services.config);
    const signature = createHmac('sha1', key as string).update(`${name}=${value}`).digest('base64url');
    await context.addCookies([
      { name, value, url: `${server.url}/web/callback` },
      { name: `${name}.sig`, value: signature, url: `${server.url}/web/callback` },
    ]);
    await page.goto(`${server.url}/web/callback?state=${state}`);
    expect(page.url()).to.equal(`${server.url}/account`);
  });

  it('treats a disabled account as signed out', async function () {
    const account = await addAccount(server, 'dora');
    await page.goto(`${server.url}/account`);
    await signIn('dora');
    await page.waitForURL(`${server.url}/account`);
    await server.services.accounts.setDisabled(account.id, true);
    await page.goto(`${server.url}/account`);
    expect(await page.textContent('h1')).to.equal('Sign in');
  });

  it('shows non-admins a friendly 403 behind the admin guard', async function () {
    await page.goto(`${server.url}/account`);
    await signIn();
    await page.waitForURL(`${server.url}/account`);
    const response = await page.goto(`${probeUrl}/admin-only`);
    expect(response?.status()).to.equal(403);
    expect(await page.textContent('h1')).to.equal('For admins only');
    await expectAccessible(page, 'the admin guard’s 403 page');
  });

  it('asks for the password again behind the fresh guard once the sign-in is older than 10 minutes', async function () {
    await page.goto(`${server.url}/account`);
    await signIn();
    await page.waitForURL(`${server.url}/account`);
    expect(await (await page.request.get(`${probeUrl}/fresh-only`)).text()).to.equal('fresh');

    const erin = await server.services.accounts.findByUsername('erin');
    for (const { uid } of await server.services.accountSessions.list(erin?.id ?? '')) {
      const session = await server.services.provider.Session.findByUid(uid);
      if (!session) continue;
      session.loginTs = Math.floor(Date.now() / 1000) - FRESH_SIGN_IN_SECONDS - 5;
      await session.persist();
    }

    const stale = await page.request.get(`${probeUrl}/fresh-only?x=1`, { maxRedirects: 0 });
    expect(stale.status()).to.equal(302);
    const location = new URL(stale.headers().location ?? '');
    expect(location.searchParams.get('prompt')).to.equal('login');
    expect(location.searchParams.get('max_age')).to.equal('0');
    const post = await page.request.post(`${probeUrl}/fresh-only`, { headers: { referer: `${server.url}/account?tab=1` }, maxRedirects: 0 });
    expect(post.status()).to.equal(303);
    const pending = (await context.cookies(`${server.url}/web/callback`)).find(({ name }) => name === `web.signin.${new URL(post.headers().location ?? '').searchParams.get('state')}`);
    expect(JSON.parse(Buffer.from(pending?.value ?? '', 'base64url').toString())).to.include({ returnTo: '/account?tab=1' });

    // Through the sign-in page again (the session's password is asked for even though it is live), then fresh.
    await page.goto(location.toString());
    expect(await page.textContent('h1')).to.equal('Sign in');
    await signIn();
    await page.waitForURL(`${server.url}/fresh-only?x=1`);
    expect(await (await page.request.get(`${probeUrl}/fresh-only`)).text()).to.equal('fresh');
  });

  it('refuses a form without the CSRF token or with a wrong one (403), then signs out with the right one', async function () {
    await page.goto(`${server.url}/account`);
    await signIn();
    await page.waitForURL(`${server.url}/account`);
    const without = await page.request.post(`${server.url}/web/sign-out`, { form: {}, maxRedirects: 0 });
    expect(without.status()).to.equal(403);
    expect(await without.text()).to.include('This form has expired');
    const wrong = await page.request.post(`${server.url}/web/sign-out`, { form: { _csrf: 'AAAA' }, maxRedirects: 0 });
    expect(wrong.status()).to.equal(403);
    await page.reload();
    expect(await page.textContent('h1'), 'still signed in').to.equal('Your account');

    // Signed out, the page says so, and offers the way back in.
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${server.url}/web/signed-out`);
    expect(await page.textContent('h1')).to.equal('You are signed out');
    expect(await page.textContent('main')).to.contain('signed out of this server and of the ChillFi3 servers you used through it');
    await expectAccessible(page, 'the signed-out page');
    await screenshots(page, 'signed-out');
    await page.getByRole('link', { name: 'Sign in again' }).click();
    expect(await page.textContent('h1')).to.equal('Sign in');
    await signIn();
    await page.waitForURL(`${server.url}/account`);
    await page.goto(`${server.url}/web/signed-out`);
    expect(page.url(), 'signed in again, the page does not say otherwise').to.equal(`${server.url}/account`);
    const [ended] = (await server.services.audit.query({ actions: ['sessions.ended'] })).events;
    expect(ended?.details).to.include({ via: 'web', sessions: 1 });
  });

  it('signs in with signInToWeb', async function () {
    await signInToWeb(page, server, 'erin');
    expect(await page.textContent('h1')).to.equal('Your account');
  });
});
