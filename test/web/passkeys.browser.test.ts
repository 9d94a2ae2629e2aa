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
import { ageSignIn, auditActions, postForm } from '../support/console.js';
import { addAccount, addInstance, PASSWORD } from '../support/fixtures.js';
import { startTestServer, type Backend, type TestServer } from '../support/test-server.js';
import { VirtualAuthenticator, type VirtualCredential } from '../support/webauthn.js';
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

    /**
     * pat's passkey as the authenticators of other browsers get it: the same key, its count where the server last saw
     * it (as one authenticator moved between browsers would have it; a lower one is a clone).
     */
    async function patsPasskey(): Promise<VirtualCredential[]> {
      const [stored] = await server.services.passkeys.listOf(patId);
      return (await home.authenticator.credentials()).map((credential) => ({ ...credential, signCount: stored?.counter ?? 0 }));
    }

    /** Opens the instance's sign-in in `page`: the login page of a fresh authorization request. */
    async function openSignIn(page: Page, forClient = client) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(forClient, {
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
      // The account's first second factor comes with its recovery codes, shown once, as an authenticator app's do.
      await Promise.all([page.waitForURL(`${server.url}/account/mfa/recovery-codes/**`), page.getByRole('button', { name: 'Create the passkey' }).click()]);
      expect(await page.getByRole('status').textContent()).to.include('Your passkey "Laptop" is added');
      expect(await page.locator('.recovery-codes li').count()).to.equal(10);
      expect(await server.services.secondFactors.recoveryCodes.remaining(patId)).to.equal(10);
      await expectAccessible(page, 'the recovery codes shown with a first passkey');
      await Promise.all([page.waitForURL(`${server.url}/account`), page.getByRole('link', { name: 'Back to your account' }).click()]);
      await page.goto(`${server.url}/account#passkeys-title`);
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
      const other = await otherBrowser(await patsPasskey());
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
      for (const credential of await patsPasskey()) await other.authenticator.addCredential(credential);
      await Promise.all([page.waitForURL(`${callbackUrl}**`), button.click()]);
      const { claims, lastSignIn } = await redeem(page, request);
      expect(claims?.sub).to.equal(patId);
      expect(claims?.amr).to.deep.equal(['hwk', 'mfa']);
      expect(lastSignIn?.details).to.include({ method: 'passkey' });
      await other.context.close();
    });

    it('keeps a passkey-first sign-in out of an invite-only instance pat may not use, as a password sign-in is', async function () {
      const { client: closed, instance } = await addInstance(server, { name: 'Closed Club', redirectUris: [callbackUrl], accessPolicy: 'invite' });
      const other = await otherBrowser(await patsPasskey());
      await Promise.all([other.page.waitForURL(`${callbackUrl}**`), openSignIn(other.page, closed)]);
      expect(new URL(other.page.url()).searchParams.get('error')).to.equal('access_denied');
      const { events } = await server.services.audit.query({ accountId: patId, actions: ['login.denied'], limit: 1 });
      expect(events[0]?.instanceId).to.equal(instance.id);
      await other.context.close();
    });

    it('signs in with the password and then a passkey as the second step: amr pwd hwk mfa, acr mfa; accessible; screenshots', async function () {
      const other = await otherBrowser();
      const { page } = other;
      const request = await openSignIn(page);
      await page.getByLabel('Username').fill('pat');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      const usePasskey = page.getByRole('button', { name: 'Use a passkey' });
      await usePasskey.waitFor();
      expect(await page.textContent('h1')).to.equal('Second step');
      await expectAccessible(page, 'the second step with a passkey');
      await screenshots(page, 'second-factor-passkey');
      for (const credential of await patsPasskey()) await other.authenticator.addCredential(credential);
      await Promise.all([page.waitForURL(`${callbackUrl}**`), usePasskey.click()]);
      const { claims } = await redeem(page, request);
      expect(claims?.sub).to.equal(patId);
      expect(claims?.amr).to.deep.equal(['pwd', 'hwk', 'mfa']);
      expect(claims?.acr).to.equal('mfa');
      const { events } = await server.services.audit.query({ accountId: patId, actions: ['mfa.verified'], limit: 1 });
      expect(events[0]?.details).to.include({ kind: 'passkey' });
      await other.context.close();
    });

    /**
     * A login page in a fresh browser whose authenticator holds `credentials`, without the page's passkey script:
     * `answer()` runs a passkey ceremony in the page for a fresh challenge of this sign-in and
     * returns the browser's answer as JSON text, without posting it; `post()` posts an answer as the page's form would.
     */
    async function signInPage(credentials: VirtualCredential[]) {
      const other = await otherBrowser(credentials);
      const { page } = other;
      // The page's own script left out: its autofill request would take the passkey before the test's ceremony does.
      await page.route('**/assets/passkey-sign-in.js', (route) => route.fulfill({ contentType: 'text/javascript', body: '' }));
      const request = await openSignIn(page);
      const interaction = page.url();
      return {
        ...other,
        request,
        interaction,
        answer: () =>
          page.evaluate(async (optionsUrl) => {
            const { SimpleWebAuthnBrowser: webauthn } = globalThis as unknown as { SimpleWebAuthnBrowser: { startAuthentication(o: object): Promise<unknown> } };
            const optionsJSON = await (await fetch(optionsUrl, { method: 'POST', headers: { accept: 'application/json' } })).json();
            return JSON.stringify(await webauthn.startAuthentication({ optionsJSON }));
          }, `${interaction}/passkey/options`),
        post: (response: string) => postForm(page, `${interaction}/passkey`, { response }),
      };
    }

    /** The latest `login` audit entry (one whose passkey is not found names no account). */
    async function lastLogin() {
      const { events } = await server.services.audit.query({ actions: ['login'], limit: 1 });
      return events[0];
    }

    it('refuses a cloned authenticator (its signature counter goes backwards) and audits it; the stored counter stays', async function () {
      const [credential] = await patsPasskey();
      const [before] = await server.services.passkeys.listOf(patId);
      expect(before?.counter, 'the passkey has been used').to.be.above(1);
      // The same key, copied out before its last uses: its count is behind what the server saw.
      const clone = await signInPage([{ ...credential!, signCount: 0 }]);
      const { status } = await clone.post(await clone.answer());
      expect(status).to.equal(400);
      expect((await lastLogin())?.details).to.include({ reason: 'counter_regressed', method: 'passkey' });
      const { events } = await server.services.audit.query({ accountId: patId, actions: ['passkey.counter_regressed'], limit: 1 });
      expect(events[0]?.outcome).to.equal('failure');
      expect(events[0]?.details).to.include({ passkey_id: before!.id });
      const [after] = await server.services.passkeys.listOf(patId);
      expect(after?.counter).to.equal(before?.counter);
      await clone.context.close();
    });

    it('takes one answer once: a replay, and 20 copies posted at once, sign in once; the rest are refused, none with a 5xx', async function () {
      const credentials = await patsPasskey();
      const first = await signInPage(credentials);
      const answer = await first.answer();
      const results = await Promise.all(Array.from({ length: 20 }, () => first.post(answer)));
      const statuses = results.map(({ status }) => status);
      expect(statuses.filter((status) => status === 303), 'one sign-in').to.have.length(1);
      expect(statuses.filter((status) => status === 400), 'the others refused').to.have.length(19);
      const replayed = await first.post(answer);
      expect(replayed.status).to.equal(400);
      // The same answer in another sign-in of the same browser: its challenge is not this one's.
      const again = await signInPage(credentials);
      await again.answer();
      expect((await again.post(answer)).status).to.equal(400);
      await Promise.all([first.context.close(), again.context.close()]);
    });

    it('refuses an answer to the challenge of another browser, a malformed one, one with no challenge asked, and a wrong origin and rpID', async function () {
      const credentials = await patsPasskey();
      const mine = await signInPage(credentials);
      const theirs = await signInPage(credentials);
      const theirAnswer = await theirs.answer();
      await mine.answer(); // mine has a live challenge of its own
      expect((await mine.post(theirAnswer)).status, 'the challenge of another session').to.equal(400);
      expect((await lastLogin())?.details).to.include({ reason: 'invalid_signature' });

      expect((await mine.post('{"id":')).status, 'no challenge left to answer').to.equal(400);
      expect((await lastLogin())?.details).to.include({ reason: 'expired_challenge' });
      await mine.answer();
      expect((await mine.post('{"id": 5, "response": []}')).status, 'malformed').to.equal(400);
      expect((await lastLogin())?.details).to.include({ reason: 'malformed' });
      const huge = await mine.page.request.post(`${mine.interaction}/passkey`, { form: { response: 'x'.repeat(40_000) }, maxRedirects: 0 });
      expect(huge.status(), 'too large for the form').to.equal(413);

      // A page of another origin (other.localhost) holding the same key for its own rpID answers this sign-in's challenge.
      const [credential] = credentials;
      const optionsJSON = await (await mine.page.request.post(`${mine.interaction}/passkey/options`)).json();
      const foreign = await mine.context.newPage();
      const foreignAuthenticator = await VirtualAuthenticator.attach(foreign);
      await foreignAuthenticator.addCredential({ ...credential!, rpId: 'other.localhost', signCount: 1000 });
      await foreign.goto(`${server.url.replace('localhost', 'other.localhost')}/web/signed-out`);
      await foreign.addScriptTag({ url: '/assets/simplewebauthn-browser.js' });
      const foreignAnswer = await foreign.evaluate(async (options) => {
        const { SimpleWebAuthnBrowser: webauthn } = globalThis as unknown as { SimpleWebAuthnBrowser: { startAuthentication(o: object): Promise<unknown> } };
        return JSON.stringify(await webauthn.startAuthentication({ optionsJSON: { ...options, rpId: 'other.localhost' } }));
      }, optionsJSON);
      expect((await mine.post(foreignAnswer)).status, 'wrong origin and rpID').to.equal(400);
      const refused = await lastLogin();
      expect(refused?.details).to.include({ reason: 'invalid_signature' });
      expect(String(refused?.details?.detail ?? '')).to.match(/origin|RP ID/i);
      await Promise.all([mine.context.close(), theirs.context.close()]);
    });

    it('removes a passkey from the account page behind a fresh sign-in; it signs nobody in afterwards; audited', async function () {
      const { page } = home;
      await page.goto(`${server.url}/account`);
      await Promise.all([page.waitForURL(`${server.url}/account#passkeys-title`), page.getByRole('button', { name: 'Remove the passkey Laptop' }).click()]);
      expect(await page.getByRole('status').textContent()).to.include('Your passkey "Laptop" is removed');
      expect(await page.textContent('section[aria-labelledby="passkeys-title"]')).to.include('You have no passkey yet');
      expect(await server.services.passkeys.listOf(patId)).to.deep.equal([]);
      expect(await server.services.secondFactors.recoveryCodes.remaining(patId), 'the recovery codes went with the last factor').to.equal(0);
      expect(await auditActions(server, patId)).to.include('passkey.removed');
      const stale = await signInPage(await patsPasskey());
      expect((await stale.post(await stale.answer())).status).to.equal(400);
      expect((await lastLogin())?.details).to.include({ reason: 'unknown_passkey' });
      await stale.context.close();
    });

    it('refuses a registration with a bad name, rubbish, or a replayed answer, writing nothing; a stale sign-in gets no options', async function () {
      const { page } = home;
      await page.goto(`${server.url}/account/passkeys/new`);
      const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
      const add = (form: Record<string, string>) => postForm(page, `${server.url}/account/passkeys`, { _csrf: csrf, ...form });
      const count = async () => (await server.services.passkeys.listOf(patId)).length;
      const before = await count();

      expect((await add({ name: '   ', response: '{}' })).status, 'no name').to.equal(400);
      expect((await add({ name: 'x'.repeat(61), response: '{}' })).status, 'too long a name').to.equal(400);
      expect((await add({ name: 'Rubbish', response: 'not a passkey' })).status, 'no challenge, rubbish').to.equal(400);
      await page.request.post(`${server.url}/account/passkeys/options`, { form: { _csrf: csrf } });
      expect((await add({ name: 'Rubbish', response: '{"id":"x","rawId":"x","type":"public-key","response":{"clientDataJSON":"e30"}}' })).status).to.equal(400);
      expect(await count()).to.equal(before);
      const { events } = await server.services.audit.query({ accountId: patId, actions: ['passkey.registered'], outcome: 'failure', limit: 1 });
      expect(events[0]?.details).to.include({ name: 'Rubbish' });

      // A real answer, kept as the page sent it, then sent again: the second finds its challenge used.
      let sent: Record<string, string> | undefined;
      await page.route(`${server.url}/account/passkeys`, async (route) => {
        sent = Object.fromEntries(new URLSearchParams(route.request().postData() ?? ''));
        await route.continue();
      });
      await page.getByLabel('Name').fill('Phone');
      // To the account page, or first to the recovery codes when this is the account's only second factor now.
      const added = new RegExp(`^${server.url}/account(#passkeys-title|/mfa/recovery-codes/[\\w-]+)$`);
      await Promise.all([page.waitForURL(added), page.getByRole('button', { name: 'Create the passkey' }).click()]);
      await page.unroute(`${server.url}/account/passkeys`);
      expect(await count()).to.equal(before + 1);
      const replay = await add({ name: 'Phone again', response: sent!.response! });
      expect(replay.status).to.equal(400);
      expect(await count()).to.equal(before + 1);

      await ageSignIn(server, patId, 3600);
      const stale = await page.request.post(`${server.url}/account/passkeys/options`, { form: { _csrf: csrf }, headers: { accept: 'application/json' } });
      expect(stale.status()).to.equal(403);
      expect((await stale.json()).detail).to.include('sign in again');
      const page2 = await postForm(page, `${server.url}/account/passkeys`, { _csrf: csrf, name: 'Late', response: '{}' });
      expect(page2.status, 'the form itself asks for a fresh sign-in').to.equal(303);
      expect(page2.location).to.include('/auth?');
    });
  });
}
