// The page a set-password link opens: once the password is set, it offers the way to sign in.
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { closeDeployment, consoleDeployment } from '../support/console.js';
import { addAccount } from '../support/fixtures.js';
import type { TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots } from '../support/web.js';

const NEW_PASSWORD = 'the owner chose this one';

describe('the set-password page', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let rootId: string;

  before(async function () {
    ({ server, browser, rootId } = await consoleDeployment('sqlite'));
  });
  after(() => closeDeployment(server, browser));

  it('says the password is set and leads to signing in, then to the account page', async function () {
    const owner = await addAccount(server, 'new-owner');
    const link = await server.services.accountOperations.issuePasswordLink(owner.id, { accountId: rootId, via: 'web' });
    const page = await browser.newPage();
    await page.goto(link.url);
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByLabel('Repeat it').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.locator('h1').textContent()).to.equal('Your password is set');
    await expectAccessible(page, 'the password-set page');
    await screenshots(page, 'set-password-done');

    await page.getByRole('link', { name: 'Sign in to your account' }).click();
    expect(await page.locator('h1').textContent()).to.equal('Sign in');
    await page.fill('input[name="username"]', 'new-owner');
    await page.fill('input[name="password"]', NEW_PASSWORD);
    await page.click('button:has-text("Sign in")');
    await page.waitForURL(`${server.url}/account`);
    expect(await page.locator('h1').textContent()).to.equal('Your account');
  });
});
