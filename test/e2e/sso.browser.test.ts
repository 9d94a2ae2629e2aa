// End to end in headless Chromium: the auth server and two example instances, single sign-on, sign-out everywhere,
// revocation, and an auth server outage.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { addAccount, PASSWORD } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { startRegisteredInstance, type RegisteredInstance } from '../sdk/support/instances.js';
import { stopListening } from '../sdk/support/sdk-server.js';

describe('e2e: single sign-on across two instances in Chromium', function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: Browser;
  let a: RegisteredInstance;
  let b: RegisteredInstance;
  let context: BrowserContext;
  let pageA: Page;
  let pageB: Page;

  before(async function () {
    [server, browser] = await Promise.all([startTestServer('sqlite'), launchChromium()]);
    await addAccount(server, 'erin');
    a = await startRegisteredInstance(server, 'Instance A', { probeIntervalSeconds: 0.2 });
    b = await startRegisteredInstance(server, 'Instance B');
    context = await browser.newContext();
  });
  after(async function () {
    await browser?.close();
    await a?.close();
    await b?.close();
    await server?.close();
  });

  async function signInWithPassword(page: Page, instance: RegisteredInstance): Promise<void> {
    await page.goto(`${instance.url}/`);
    await page.click('#sign-in');
    await page.fill('input[name="username"]', 'erin');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button:has-text("Sign in")');
    await page.waitForURL(`${instance.url}/`);
  }

  interface ApiAnswer {
    status: number;
    body: { instance?: string; user?: { username: string; is_admin: boolean } };
  }
  const api = (page: Page, path: string): Promise<ApiAnswer> =>
    page.evaluate(async (target) => {
      const response = await fetch(target);
      return { status: response.status, body: (await response.json()) as ApiAnswer['body'] };
    }, path);

  async function accessTokenOf(instance: RegisteredInstance): Promise<string> {
    const response = await context.request.get(`${instance.url}/debug/token`);
    return ((await response.json()) as { accessToken: string }).accessToken;
  }

  it('signs in on A with the password, then on B without it; both APIs and sockets know the user', async function () {
    pageA = await context.newPage();
    await signInWithPassword(pageA, a);
    expect(await pageA.textContent('#username')).to.equal('erin');
    await pageA.locator('#socket-user', { hasText: /^erin$/ }).waitFor();

    pageB = await context.newPage();
    await pageB.goto(`${b.url}/`);
    expect(await pageB.getAttribute('body', 'data-signed-in')).to.equal('no');
    await pageB.click('#sign-in');
    await pageB.waitForURL(`${b.url}/`);
    expect(await pageB.textContent('#username'), 'signed in on B without a password').to.equal('erin');
    await pageB.locator('#socket-user', { hasText: /^erin$/ }).waitFor();

    const meA = await api(pageA, '/api/me');
    const meB = await api(pageB, '/api/me');
    expect(meA).to.deep.include({ status: 200 });
    expect(meA.body.user).to.include({ username: 'erin', is_admin: false });
    expect(meB.body).to.deep.include({ instance: 'Instance B' });
    expect(meB.body.user?.username).to.equal('erin');
    // The browser holds no token: only HttpOnly cookies, invisible to scripts.
    expect(await pageA.evaluate('document.cookie')).to.equal('');
  });

  it("refuses A's access token at B (403) and accepts it at A", async function () {
    const tokenA = await accessTokenOf(a);
    const atB = await fetch(`${b.url}/api/me`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(atB.status).to.equal(403);
    const atA = await fetch(`${a.url}/api/me`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(atA.status).to.equal(200);
  });

  it('keeps serving signed-in users on A while the auth server is down, refuses new sign-ins cleanly, recovers', async function () {
    const restart = await stopListening(server);
    try {
      await pageA.reload();
      expect(await pageA.textContent('#username'), 'still signed in').to.equal('erin');
      expect((await api(pageA, '/api/me')).status).to.equal(200);
      await pageA.locator('#socket-user', { hasText: /^erin$/ }).waitFor();
      expect((await api(pageA, '/api/strict')).status, 'fail-closed route').to.equal(503);
      await pageA.reload();
      expect(await pageA.textContent('#auth-state'), 'degraded state visible to the app').to.equal('degraded');
      expect(await pageA.textContent('#username')).to.equal('erin');

      const stranger = await browser.newContext();
      const page = await stranger.newPage();
      const response = await page.goto(`${a.url}/auth/login`);
      expect(response?.status()).to.equal(503);
      expect(await page.textContent('h1')).to.equal('Sign-in is unavailable right now');
      await stranger.close();
    } finally {
      await restart();
    }
    // A's background probe notices the server is back.
    for (let tries = 0; ; tries++) {
      const state = ((await (await fetch(`${a.url}/api/status`)).json()) as { state: string }).state;
      if (state === 'ok') break;
      if (tries > 100) throw new Error(`A did not recover: ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const fresh = await browser.newContext();
    await signInWithPassword(await fresh.newPage(), a);
    await fresh.close();
    expect((await api(pageA, '/api/strict')).status).to.equal(200);
  });

  it('stops a revoked token on A at once under the introspection policy', async function () {
    const tokenA = await accessTokenOf(a);
    const strict = () => fetch(`${a.url}/api/strict`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect((await strict()).status).to.equal(200);
    const client = await oidc.discovery(new URL(server.issuer), a.clientId, a.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    await oidc.tokenRevocation(client, tokenA);
    expect((await strict()).status).to.equal(403);
  });

  it('signing out on A ends the session on B: its socket is disconnected and its page shows signed out', async function () {
    await pageB.reload();
    await pageB.locator('#socket-state', { hasText: /^connected$/ }).waitFor();
    await pageA.click('#sign-out');
    await pageA.click('button:has-text("Sign out everywhere")');
    await pageA.waitForURL(`${a.url}/`);
    expect(await pageA.getAttribute('body', 'data-signed-in')).to.equal('no');

    await pageB.locator('#socket-state', { hasText: /^disconnected$/ }).waitFor();
    expect(await pageB.getAttribute('body', 'data-socket-disconnect')).to.equal('io server disconnect');
    await pageB.reload();
    expect(await pageB.getAttribute('body', 'data-signed-in')).to.equal('no');
    expect((await api(pageB, '/api/me')).status).to.equal(401);
    expect((await api(pageA, '/api/me')).status).to.equal(401);
  });
});
