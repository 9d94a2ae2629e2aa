// Step-up end to end in headless Chromium: an example instance's /admin sits behind the SDK's requireMfa(); a user
// signed in there with a password alone is sent to the auth server with acr_values=mfa, answers with a passkey from
// Chromium's virtual authenticator (asked for the factor alone, not the password), and lands on /admin with the
// second factor in the token.
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { addAccount } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { VirtualAuthenticator } from '../support/webauthn.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';
import { startRegisteredInstance, type RegisteredInstance } from '../sdk/support/instances.js';

describe('e2e: step-up to a passkey for an instance admin page, in Chromium', function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: Browser;
  let instance: RegisteredInstance;
  let context: BrowserContext;
  let page: Page;

  before(async function () {
    // WebAuthn needs a host name for its rpID: the server answers on localhost.
    [server, browser] = await Promise.all([startTestServer('sqlite', {}, { hostname: 'localhost' }), launchChromium()]);
    instance = await startRegisteredInstance(server, 'Stepping instance');
    await addAccount(server, 'owen');
    context = await browser.newContext();
    page = await context.newPage();
    await VirtualAuthenticator.attach(page);
  });
  after(async function () {
    await browser?.close();
    await instance?.close();
    await server?.close();
  });

  it('asks a password-only session for the passkey alone when /admin demands a second factor, then lets it in with amr hwk', async function () {
    // Owen signs in with his password, then adds a passkey on his account page: the session stays a password one.
    await signInToWeb(page, server, 'owen');
    await page.goto(`${server.url}/account/passkeys/new`);
    await page.getByLabel('Name').fill('Laptop');
    await Promise.all([page.waitForURL(`${server.url}/account/mfa/recovery-codes/**`), page.getByRole('button', { name: 'Create the passkey' }).click()]);

    // Signed in at the instance by single sign-on, with the password alone.
    await page.goto(`${instance.url}/`);
    await Promise.all([page.waitForURL(`${instance.url}/`), page.click('#sign-in')]);
    expect(await page.textContent('body')).to.contain('owen');

    // /admin wants a second factor: the auth server asks for the passkey, not the password.
    await page.goto(`${instance.url}/admin`);
    await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    expect(new URL(page.url()).origin).to.equal(server.url);
    expect(await page.locator('input[name="password"]').count(), 'the password is not asked again').to.equal(0);
    await expectAccessible(page, 'the step-up to a passkey');
    await screenshots(page, 'sign-in-step-up-passkey');
    await Promise.all([page.waitForURL(`${instance.url}/admin`), page.getByRole('button', { name: 'Use a passkey' }).click()]);

    const answer = JSON.parse((await page.locator('body').innerText()).trim()) as { admin: boolean; user: { username: string; acr: string; amr: string[] } };
    expect(answer.admin).to.equal(true);
    expect(answer.user.username).to.equal('owen');
    expect(answer.user.acr).to.equal('mfa');
    expect(answer.user.amr).to.include('hwk').and.include('mfa');
    const [passkey] = await server.services.passkeys.listOf((await server.services.accounts.findByUsername('owen'))!.id);
    expect(passkey?.lastUsedAt, 'the passkey was used for the step').to.be.an.instanceOf(Date);
  });
});
