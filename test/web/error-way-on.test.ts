// The error page says what to do next for where the person is: inside the console, back to the console; with a
// set-password link that was used, sign in or ask an admin; only on the sign-in pages an instance sent someone to,
// back to the ChillFi3 server they came from.
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_CONSOLE_PREFIX } from '../../src/web/page.js';
import { closeDeployment, consoleDeployment } from '../support/console.js';
import { addAccount, PASSWORD } from '../support/fixtures.js';
import type { TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

const CAME_FROM = 'Go back to the ChillFi3 server you came from';

describe('the error page: a way on from where the person is', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let rootId: string;

  before(async function () {
    ({ server, browser, rootId } = await consoleDeployment('sqlite'));
    page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, ADMIN_CONSOLE_PREFIX);
  });
  after(() => closeDeployment(server, browser));

  it('inside the console, a missing page leads back to the console', async function () {
    for (const path of [`${ADMIN_CONSOLE_PREFIX}/users/no-such-user`, `${ADMIN_CONSOLE_PREFIX}/no-such-page`]) {
      const response = await page.goto(`${server.url}${path}`);
      expect(response?.status(), path).to.equal(404);
      expect(await page.locator('h1').textContent()).to.contain('Page not found');
      expect(await page.textContent('main'), path).to.not.contain(CAME_FROM);
      expect(await page.getByRole('link', { name: 'Back to the console' }).getAttribute('href')).to.equal(ADMIN_CONSOLE_PREFIX);
    }
    await expectAccessible(page, 'a missing console page');
    await screenshots(page, 'error-console-not-found');
    await page.getByRole('link', { name: 'Back to the console' }).click();
    expect(page.url()).to.equal(`${server.url}${ADMIN_CONSOLE_PREFIX}`);
  });

  it('a used set-password link says to sign in with the password set, or to ask an admin for a new link', async function () {
    const owner = await addAccount(server, 'link-owner');
    const link = await server.services.accountOperations.issuePasswordLink(owner.id, { accountId: rootId, via: 'web' });
    const other = await browser.newPage();
    await other.goto(link.url);
    await other.getByLabel('New password').fill('the owner chose this one');
    await other.getByLabel('Repeat it').fill('the owner chose this one');
    await other.getByRole('button', { name: 'Set password' }).click();
    expect(await other.locator('h1').textContent()).to.equal('Your password is set');

    const again = await other.goto(link.url);
    expect(again?.status()).to.equal(400);
    const text = await other.textContent('main');
    expect(text).to.not.contain(CAME_FROM);
    expect(text).to.contain('sign in with it').and.contain('ask an admin of this server for a new link');
    await expectAccessible(other, 'a used set-password link');
    await screenshots(other, 'error-set-password-used');
    await other.getByRole('link', { name: 'Sign in' }).click();
    expect(await other.locator('h1').textContent()).to.equal('Sign in');
    await other.close();
  });

  it('on the sign-in pages an instance sent someone to, it still says to go back to that server', async function () {
    const response = await page.goto(`${server.url}/auth?client_id=no-such-client&response_type=code`);
    expect(response?.status()).to.equal(400);
    expect(await page.textContent('main')).to.contain(CAME_FROM);
  });
});
