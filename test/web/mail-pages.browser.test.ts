// The mail pages in Chromium, against a real SMTP server on loopback: from the sign-in page to "Forgot your
// password?", the mail's link opened in the browser, a new password set (every earlier session of the account ends)
// and used to sign in; the address-verification page and the account page's e-mail section. axe checks each page;
// the screenshots (desktop and phone) are the README's.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { authorizationRequest } from '../support/fixtures.js';
import { closeDeployment, consoleDeployment } from '../support/console.js';
import { addAccount, addInstance, codeFlow, PASSWORD } from '../support/fixtures.js';
import { linkIn, startSmtpRelay, type SmtpRelay } from '../support/smtp-relay.js';
import type { Backend, TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

const NEW_PASSWORD = 'remembered at last, for good';

for (const backend of ['sqlite', 'postgres+redis'] as Backend[]) {
  describe(`mail pages in Chromium on ${backend}`, function () {
    this.timeout(120_000);
    let relay: SmtpRelay;
    let server: TestServer;
    let browser: Browser;
    const shoot = backend === 'sqlite';
    const poll = async () => {
      while ((await server.services.mailWorker!.poll()) > 0);
    };

    before(async function () {
      relay = await startSmtpRelay();
      ({ server, browser } = await consoleDeployment(backend, { SMTP_URL: relay.url, MAIL_FROM: 'ChillFi3 <auth@example.org>', MAIL_POLL_INTERVAL_MS: '600000' }));
    });
    after(async function () {
      await closeDeployment(server, browser);
      await relay?.stop();
    });

    it('gets a forgetful user back in: sign-in page, request, mail, link, new password, old sessions ended', async function () {
      const account = await addAccount(server, `forgetful-${backend.replace(/\W/g, '')}`, { email: `forgetful-${backend.replace(/\W/g, '')}@example.org` });
      const { client } = await addInstance(server);
      const earlier = await codeFlow(client, { username: account.username });

      const page = await browser.newPage();
      await page.goto((await authorizationRequest(client, 'openid profile')).url);
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      expect(await page.locator('h1').textContent()).to.equal('Forgot your password?');
      await expectAccessible(page, 'the forgot-password page');
      if (shoot) await screenshots(page, 'forgot-password');
      await page.getByLabel('Username or e-mail address').fill(account.username);
      await page.getByRole('button', { name: 'Send me a link' }).click();
      await page.getByRole('status').waitFor();
      await expectAccessible(page, 'the forgot-password page, sent');
      if (shoot) await screenshots(page, 'forgot-password-sent');
      expect(await page.getByRole('link', { name: 'Back to sign-in' }).count()).to.equal(1);

      await poll();
      const mail = await relay.next((received) => received.rcptTo.includes(account.email!));
      expect(mail.parsed.text).to.contain('HeadlessChrome');
      await page.goto(linkIn(mail, server.issuer));
      await page.getByLabel('New password').fill(NEW_PASSWORD);
      await page.getByLabel('Repeat it').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Set password' }).click();
      expect(await page.locator('h1').textContent()).to.equal('Your password is set');

      let refused: unknown;
      await oidc.refreshTokenGrant(client, earlier.tokens.refresh_token!).catch((error: unknown) => (refused = error));
      expect(refused, 'the earlier session ended').to.be.instanceOf(oidc.ResponseBodyError);

      await page.getByRole('link', { name: 'Sign in to your account' }).click();
      await page.fill('input[name="username"]', account.username);
      await page.fill('input[name="password"]', NEW_PASSWORD);
      await page.click('button:has-text("Sign in")');
      await page.waitForURL(`${server.url}/account`);
      expect(await page.locator('h1').textContent()).to.equal('Your account');
      await page.close();
    });

    it('lets an admin mail a set-password link from the console: for a new user, and for an existing one', async function () {
      const suffix = backend.replace(/\W/g, '');
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, '/admin/users/new');
      await page.getByLabel('Username').fill(`mailed-${suffix}`);
      await page.getByLabel('Email').fill(`mailed-${suffix}@example.org`);
      await page.getByLabel('Without a password: mail the set-password link to their address instead of showing it').check();
      await expectAccessible(page, 'the new-user form with mail');
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByText(`A set-password link is on its way to mailed-${suffix}@example.org`).waitFor();
      expect(await page.content()).not.to.contain('/set-password?token=');
      await page.getByRole('button', { name: `Mail a set-password link to mailed-${suffix}@example.org` }).click();
      await page.getByText(`A set-password link for mailed-${suffix} is on its way`).waitFor();
      await poll();
      const mails = relay.received.filter((mail) => mail.rcptTo.includes(`mailed-${suffix}@example.org`) && mail.parsed.subject?.startsWith('Set your password'));
      expect(mails.map((mail) => (mail.parsed.text ?? '').includes('made an account for you'))).to.deep.equal([true, false]);
      // The newer link withdrew the older one.
      await page.goto(linkIn(mails[0]!, server.issuer));
      expect(await page.locator('h1').textContent()).to.equal('We could not complete that request');
      await page.goto(linkIn(mails[1]!, server.issuer));
      expect(await page.locator('h1').textContent()).to.equal('Set your password');
      await page.close();
    });

    it('confirms an address by its link, and the account page shows its state, resends, and keeps the notice setting', async function () {
      const suffix = backend.replace(/\W/g, '');
      const account = await addAccount(server, `confirming-${suffix}`);
      const page = await browser.newPage();
      await signInToWeb(page, server, account.username);
      await page.getByLabel('Email').fill(`confirming-${suffix}@example.org`);
      await page.getByRole('button', { name: 'Save profile' }).click();
      await page.getByText('not confirmed').waitFor();
      await expectAccessible(page, 'the account page with an unconfirmed address');
      await page.locator('#mail-title').scrollIntoViewIfNeeded();
      if (shoot) await screenshots(page, 'account-email-unconfirmed');
      await page.getByRole('button', { name: 'Send the link again' }).click();
      await page.getByText('A new confirmation link is on its way').waitFor();
      await page.getByLabel('Mail me when my account signs in from a browser it has not used before').check();
      await page.getByRole('button', { name: 'Save notices' }).click();
      expect(await page.getByLabel('Mail me when my account signs in from a browser it has not used before').isChecked()).to.equal(true);
      expect((await server.services.accounts.get(account.id)).signInNotices).to.equal(true);

      await poll();
      const confirmations = relay.received.filter((mail) => mail.rcptTo.includes(`confirming-${suffix}@example.org`));
      expect(confirmations).to.have.length(2);
      // The first link was withdrawn by the second.
      await page.goto(linkIn(confirmations[0]!, server.issuer));
      expect(await page.locator('h1').textContent()).to.equal('We could not complete that request');
      await page.goto(linkIn(confirmations[1]!, server.issuer));
      await expectAccessible(page, 'the confirm-address page');
      if (shoot) await screenshots(page, 'verify-email');
      await page.getByRole('button', { name: 'Yes, confirm it' }).click();
      expect(await page.locator('h1').textContent()).to.equal('Your address is confirmed');
      await page.getByRole('link', { name: 'Your account' }).click();
      await page.getByText('confirmed', { exact: true }).waitFor();
      await page.close();
    });
  });
}
