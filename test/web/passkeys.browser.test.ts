// Passkeys in Chromium with a virtual authenticator (DevTools WebAuthn domain): added on the account page, used to
// sign in with no username or password, removed; a cloned authenticator's counter refused and audited; replayed,
// foreign and malformed answers refused; on the embedded SQLite and on PostgreSQL + Redis.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { auditActions } from '../support/console.js';
import { addAccount, addInstance } from '../support/fixtures.js';
import { startTestServer, type Backend, type TestServer } from '../support/test-server.js';
import { VirtualAuthenticator } from '../support/webauthn.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

for (const backend of ['sqlite', 'postgres+redis'] as Backend[]) {
  describe(`passkeys in Chromium (${backend})`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let browser: Browser;
    let callback: Server;
    let callbackUrl: string;
    let client: oidc.Configuration;
    let patId: string;
    /** The browser where pat added the passkey, and its authenticator. */
    let home: { context: BrowserContext; page: Page; authenticator: VirtualAuthenticator };

    before(async function () {
      [server, browser] = await Promise.all([startTestServer(backend, {}, { hostname: 'localhost' }), launchChromium()]);
      callback = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>instance callback</h1>'));
      await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
      callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
      ({ client } = await addInstance(server, { name: 'Jukebox', redirectUris: [callbackUrl] }));
      patId = (await addAccount(server, 'pat')).id;
      const context = await browser.newContext();
      const page = await context.newPage();
      home = { context, page, authenticator: await VirtualAuthenticator.attach(page) };
    });
    after(async function () {
      await browser?.close();
      callback?.close();
      await server?.close();
    });

    /** A fresh browser (no session) with an authenticator holding copies of `credentials`. */
    async function otherBrowser(credentials = [] as Awaited<ReturnType<VirtualAuthenticator['credentials']>>) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const authenticator = await VirtualAuthenticator.attach(page);
      for (const credential of credentials) await authenticator.addCredential(credential);
      return { context, page, authenticator };
    }

    /** Opens the instance's sign-in in `page`: the login page of a fresh authorization request. */
    async function openSignIn(page: Page) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(client, {
        redirect_uri: callbackUrl,
        scope: 'openid profile',
        state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      await page.goto(url.toString());
      return { verifier, state };
    }

    it('adds a passkey on the account page: named, listed with when it was added and last used; accessible; screenshots', async function () {
      const { page, authenticator } = home;
      await signInToWeb(page, server, 'pat');
      expect(await page.textContent('#passkeys-title')).to.equal('Passkeys');
      expect(await page.textContent('section[aria-labelledby="passkeys-title"]')).to.include('You have no passkey yet');
      await page.getByRole('link', { name: 'Add a passkey' }).click();
      await page.waitForURL(`${server.url}/account/passkeys/new`);
      expect(await page.inputValue('#passkey-name')).to.equal('Passkey 1');
      await expectAccessible(page, '/account/passkeys/new');
      await screenshots(page, 'account-passkey-new');

      await page.getByLabel('Name').fill('Laptop');
      await Promise.all([page.waitForURL(`${server.url}/account#passkeys-title`), page.getByRole('button', { name: 'Create the passkey' }).click()]);
      expect(await page.getByRole('status').textContent()).to.include('Your passkey "Laptop" is added');
      const row = await page.locator('.passkeys-table tbody tr').allTextContents();
      expect(row).to.have.length(1);
      expect(row[0]).to.include('Laptop').and.include('never');

      const credentials = await authenticator.credentials();
      expect(credentials).to.have.length(1);
      expect(credentials[0]?.isResidentCredential, 'a discoverable credential').to.equal(true);
      expect(credentials[0]?.rpId).to.equal('localhost');
      const stored = await server.services.passkeys.listOf(patId);
      expect(stored.map((passkey) => passkey.name)).to.deep.equal(['Laptop']);
      expect(stored[0]?.credentialId).to.equal(Buffer.from(credentials[0]!.credentialId, 'base64').toString('base64url'));
      expect(await auditActions(server, patId)).to.include('passkey.registered');
      await expectAccessible(page, '/account with a passkey');
      await screenshots(page, 'account-passkeys');
    });

    /** The ID token's claims and the account's last sign-in entry, after the instance redeems the code on `page`. */
    async function redeem(page: Page, { verifier, state }: { verifier: string; state: string }) {
      const tokens = await oidc.authorizationCodeGrant(client, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      const { events } = await server.services.audit.query({ accountId: patId, actions: ['login'], limit: 1 });
      return { tokens, claims: tokens.claims(), lastSignIn: events[0] };
    }

    it('signs in passkey-first from the autofill of the username field (conditional UI): no username, no password, amr hwk', async function () {
      const other = await otherBrowser(await home.authenticator.credentials());
      const { page } = other;
      // The virtual authenticator answers the autofill's pending request at once, as a person picking the passkey.
      const [, request] = await Promise.all([page.waitForURL(`${callbackUrl}**`), openSignIn(page)]);
      const { claims, tokens, lastSignIn } = await redeem(page, request);
      expect(claims?.sub).to.equal(patId);
      expect(claims?.amr).to.deep.equal(['hwk', 'mfa']);
      expect(decodeJwt(tokens.access_token).sub).to.equal(patId);
      expect(lastSignIn?.outcome).to.equal('success');
      expect(lastSignIn?.details).to.include({ method: 'passkey' });
      const [passkey] = await server.services.passkeys.listOf(patId);
      expect(passkey?.lastUsedAt).to.be.an.instanceOf(Date);
      expect(passkey?.counter).to.be.above(0);
      await other.context.close();
    });

    it('signs in passkey-first with the "Sign in with a passkey" button; the page is accessible; screenshots', async function () {
      const other = await otherBrowser();
      const { page } = other;
      const options = page.waitForResponse((response) => response.url().endsWith('/passkey/options'));
      const request = await openSignIn(page);
      expect(await page.getAttribute('#username', 'autocomplete')).to.equal('username webauthn');
      const button = page.getByRole('button', { name: 'Sign in with a passkey' });
      await button.waitFor();
      // The autofill's request has started with no passkey in the authenticator: it waits, as for a person who types.
      await options;
      await expectAccessible(page, 'the sign-in page with a passkey button');
      await screenshots(page, 'login-passkey');
      for (const credential of await home.authenticator.credentials()) await other.authenticator.addCredential(credential);
      await Promise.all([page.waitForURL(`${callbackUrl}**`), button.click()]);
      const { claims, lastSignIn } = await redeem(page, request);
      expect(claims?.sub).to.equal(patId);
      expect(claims?.amr).to.deep.equal(['hwk', 'mfa']);
      expect(lastSignIn?.details).to.include({ method: 'passkey' });
      await other.context.close();
    });
  });
}
