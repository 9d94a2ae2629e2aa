// Second factors in Chromium, end to end: an authenticator app set up on /account (its QR code's key read from the
// page, the codes computed from it at the server's clock), the second step at sign-in, a recovery code, and an admin
// walked through enrolment at sign-in under MFA_REQUIRED_FOR_ADMINS; axe and screenshots of every new page.
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { addAccount, PASSWORD } from '../support/fixtures.js';
import { enrolTotp, TestClock, totpCode } from '../support/mfa.js';
import { startTestServer, type Backend, type TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

/** The password step of a sign-in that goes on to a second step. */
async function enterPassword(page: Page, server: TestServer, username: string, path = '/account'): Promise<void> {
  await page.goto(`${server.url}${path}`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button:has-text("Sign in")');
}

for (const backend of ['sqlite', 'postgres+redis'] as Backend[]) {
  describe(`web: second factors in Chromium (${backend})`, function () {
    this.timeout(120_000);
    const clock = new TestClock();
    let server: TestServer;
    let browser: Browser;
    let secret: string;
    let codes: string[];
    const shots = backend === 'sqlite';

    before(async function () {
      [server, browser] = await Promise.all([startTestServer(backend, {}, { clock: clock.read }), launchChromium()]);
      await addAccount(server, 'erin');
    });
    after(async function () {
      await browser?.close();
      await server?.close();
    });

    it('sets up an authenticator app on /account and shows the recovery codes once', async function () {
      const page = await browser.newPage();
      await signInToWeb(page, server, 'erin');
      await page.click('a:has-text("Set up an authenticator app")');
      await page.waitForURL(`${server.url}/account/mfa/totp`);
      expect(await page.getAttribute('img.qr-code', 'src')).to.match(/^data:image\/svg\+xml;base64,/);
      secret = (await page.textContent('.totp-secret'))!.trim();
      await expectAccessible(page, '/account/mfa/totp');
      if (shots) await screenshots(page, 'account-mfa-totp');
      await page.fill('#totp-code', '000000');
      await page.click('button:has-text("Turn on")');
      expect(await page.textContent('[role="alert"]')).to.contain('not accepted');
      secret = (await page.textContent('.totp-secret'))!.trim();
      await page.fill('#totp-code', totpCode(secret, clock.now));
      await page.click('button:has-text("Turn on")');
      await page.waitForURL(/\/account\/mfa\/recovery-codes\//);
      codes = await page.locator('.recovery-codes code').allTextContents();
      expect(codes).to.have.length(10);
      await expectAccessible(page, 'recovery codes');
      if (shots) await screenshots(page, 'account-mfa-codes');
      await page.click('a:has-text("Back to your account")');
      expect(await page.textContent('.factor-list')).to.contain('Authenticator app');
      expect(await page.textContent('.recovery-codes-left')).to.equal('10');
      await page.close();
    });

    it('asks for a code from the app after the password, and takes the code the app shows', async function () {
      clock.nextPeriod();
      const page = await browser.newPage();
      await enterPassword(page, server, 'erin');
      await page.waitForSelector('h1:has-text("Second step")');
      await expectAccessible(page, 'the second step');
      if (shots) await screenshots(page, 'sign-in-second-factor');
      await page.fill('#totp-code', totpCode(secret, clock.now));
      await page.click('button:has-text("Verify")');
      await page.waitForURL(`${server.url}/account`);
      expect(await page.textContent('h1')).to.equal('Your account');
      await page.close();
    });

    it('signs in with a recovery code, saying how many are left', async function () {
      const page = await browser.newPage();
      await enterPassword(page, server, 'erin');
      await page.click('summary:has-text("Lost it?")');
      await page.fill('#recovery-code', codes[0]!);
      await page.click('button:has-text("Use recovery code")');
      await page.waitForSelector('h1:has-text("Recovery code accepted")');
      expect(await page.textContent('.recovery-remaining')).to.equal('9');
      await expectAccessible(page, 'recovery code accepted');
      if (shots) await screenshots(page, 'sign-in-recovery-code');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(`${server.url}/account`);
      expect(await page.textContent('.recovery-codes-left')).to.equal('9');
      await page.close();
    });

    it('makes new recovery codes (the old ones stop working), then removes the app, its codes going with it', async function () {
      const page = await browser.newPage();
      await page.goto(`${server.url}/account`);
      if (await page.locator('input[name="password"]').count()) {
        await enterPassword(page, server, 'erin');
        clock.nextPeriod();
        await page.fill('#totp-code', totpCode(secret, clock.now));
        await page.click('button:has-text("Verify")');
        await page.waitForURL(`${server.url}/account`);
      }
      await page.click('button:has-text("Make new recovery codes")');
      await page.waitForURL(/\/account\/mfa\/recovery-codes\//);
      const fresh = await page.locator('.recovery-codes code').allTextContents();
      expect(fresh).to.have.length(10);
      expect(fresh).to.not.include(codes[1]);
      const account = (await server.services.accounts.findForLogin('erin'))!;
      const old = await server.services.secondFactors.recoveryCodes.verify({ account, stepId: 'x', form: { code: codes[1] } });
      expect(old.ok, 'an old code no longer works').to.equal(false);
      await page.goto(`${server.url}/account`);
      await page.click('.factor-list button:has-text("Remove")');
      await page.waitForURL(`${server.url}/account`);
      expect(await page.textContent('[role="status"]')).to.contain('removed');
      expect(await page.locator('a:has-text("Set up an authenticator app")').count()).to.equal(1);
      expect(await server.services.secondFactors.recoveryCodes.remaining(account.id)).to.equal(0);
      const events = (await server.services.audit.recent(10)).map((event) => event.action);
      expect(events).to.include.members(['mfa.recovery_codes_generated', 'mfa.removed']);
      await page.close();
    });
  });
}

describe('web: MFA_REQUIRED_FOR_ADMINS in Chromium', function () {
  this.timeout(120_000);
  const clock = new TestClock();
  let server: TestServer;
  let browser: Browser;

  before(async function () {
    [server, browser] = await Promise.all([startTestServer('sqlite', { MFA_REQUIRED_FOR_ADMINS: 'true' }, { clock: clock.read }), launchChromium()]);
    await addAccount(server, 'root', { isAdmin: true });
  });
  after(async function () {
    await browser?.close();
    await server?.close();
  });

  it('walks an admin without a factor through enrolment at sign-in to the console, then lets them in', async function () {
    const page = await browser.newPage();
    await enterPassword(page, server, 'root', '/admin');
    await page.waitForSelector('h1:has-text("Set up an authenticator app")');
    await expectAccessible(page, 'enrolment at sign-in');
    await screenshots(page, 'sign-in-mfa-enrol');
    const secret = (await page.textContent('.totp-secret'))!.trim();
    await page.fill('#totp-code', totpCode(secret, clock.now));
    await page.click('button:has-text("Turn on")');
    await page.waitForSelector('h1:has-text("Your recovery codes")');
    expect(await page.locator('.recovery-codes code').count()).to.equal(10);
    await expectAccessible(page, 'recovery codes at sign-in');
    await page.click('button:has-text("Continue")');
    await page.waitForURL(`${server.url}/admin`);
    expect(await page.textContent('h1')).to.not.contain('Sign in');

    // The console shows another user's factors (never a secret) and resets them after a confirmation.
    const tess = await addAccount(server, 'tess');
    const tessSecret = await enrolTotp(server, tess);
    await page.goto(`${server.url}/admin/users/${tess.id}`);
    expect(await page.textContent('.second-factors')).to.contain('Authenticator app').and.contain('totp');
    expect(await page.content()).to.not.contain(tessSecret);
    await expectAccessible(page, 'the user page with second factors');
    await page.click('a:has-text("Reset second factors")');
    await page.click('button:has-text("Reset second factors")');
    await page.waitForURL(`${server.url}/admin/users/${tess.id}`);
    expect(await page.textContent('[role="status"]')).to.contain('1 second factor(s) of tess removed');
    expect(await server.services.secondFactors.hasFactor(tess)).to.equal(false);
    const event = (await server.services.audit.recent(5)).find((entry) => entry.action === 'mfa.reset');
    expect(event?.details).to.include({ via: 'web' });
    await page.close();
  });
});
