import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, PASSWORD } from '../support/fixtures.js';
import { launchChromium } from '../support/chromium.js';

describe('the login page in headless Chromium', function () {
  let server: TestServer;
  let browser: Browser;
  let callback: Server;
  let callbackUrl: string;

  before(async function () {
    [server, browser] = await Promise.all([startTestServer('sqlite'), launchChromium()]);
    callback = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>instance callback</h1>'));
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    await addAccount(server, 'jules');
  });
  after(async function () {
    await browser?.close();
    callback?.close();
    await server?.close();
  });

  it('signs a person in with the form: wrong password first, then the right one, and the instance gets a code', async function () {
    const { client } = await addInstance(server, { redirectUris: [callbackUrl] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = oidc.buildAuthorizationUrl(client, {
      redirect_uri: callbackUrl,
      scope: 'openid profile',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(authorizationUrl.toString());
    expect(await page.title()).to.contain('Sign in');
    expect(await page.locator('link[rel=stylesheet]').getAttribute('href')).to.equal('/assets/style.css');

    await page.getByLabel('Username').fill('jules');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('alert').textContent()).to.contain('Invalid username or password');
    expect(page.url()).to.not.contain(callbackUrl);

    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([page.waitForURL(`${callbackUrl}**`), page.getByRole('button', { name: 'Sign in' }).click()]);
    const tokens = await oidc.authorizationCodeGrant(client, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.preferred_username).to.equal('jules');

    const cookies = await page.context().cookies(server.issuer);
    const session = cookies.find((cookie) => cookie.name === '_session');
    expect(session?.httpOnly).to.equal(true);
    expect(session?.sameSite).to.equal('Lax');
    expect(problems, 'no console errors (such as CSP violations)').to.deep.equal([]);
  });
});
