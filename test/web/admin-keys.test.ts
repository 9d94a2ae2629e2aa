import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_CONSOLE_PREFIX } from '../../src/web/page.js';
import { FRESH_SIGN_IN_SECONDS } from '../../src/web/web-session.js';
import { ageSignIn, closeDeployment, consoleDeployment, postForm } from '../support/console.js';
import { addAccount, PASSWORD } from '../support/fixtures.js';
import type { Backend, TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

const KEYS = `${ADMIN_CONSOLE_PREFIX}/keys`;

describe('the console: signing keys', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let rootId: string;

  before(async function () {
    ({ server, browser, rootId } = await consoleDeployment('sqlite'));
    await addAccount(server, 'jules');
    page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, KEYS);
  });
  after(() => closeDeployment(server, browser));

  async function keyActions() {
    return (await server.services.audit.query({ actions: ['key.*'], limit: 20 })).events;
  }

  it('lists the keys with their state, algorithm, kid and dates', async function () {
    const keys = await server.services.keyOperations.list();
    expect(await page.locator('tbody tr').count()).to.equal(keys.length);
    for (const key of keys) {
      const row = page.locator('tbody tr', { hasText: key.kid });
      expect(await row.textContent()).to.contain(key.alg).and.contain(key.state);
    }
    await expectAccessible(page, 'the signing keys');
    await screenshots(page, 'admin-keys');
  });

  it('says keys rotate only by hand when AUTH_KEY_ROTATION_DAYS is 0 (the default)', async function () {
    await page.goto(`${server.url}${KEYS}`);
    const rotation = (await page.getByRole('region', { name: 'Rotate' }).textContent()) as string;
    expect(rotation).to.contain('Keys do not rotate by themselves on this server').and.contain('AUTH_KEY_ROTATION_DAYS is 0');
  });

  it('lets the keyboard reach the keys table where it scrolls, on a phone', async function () {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${server.url}${KEYS}`);
      const region = page.getByRole('region', { name: 'Keys in the JWKS' });
      expect(await region.evaluate((element) => element.scrollWidth > element.clientWidth), 'the table scrolls on a phone').to.equal(true);
      await region.focus();
      expect(await region.evaluate((element) => element === element.ownerDocument.activeElement), 'it takes the focus').to.equal(true);
      await expectAccessible(page, 'the signing keys on a phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('rotates after a fresh sign-in and a confirmation: a next key per algorithm, audited; a second rotation is refused with a notice', async function () {
    const before = await server.services.keyOperations.list();
    await ageSignIn(server, rootId, FRESH_SIGN_IN_SECONDS + 60);
    await page.goto(`${server.url}${KEYS}`);
    await page.getByRole('link', { name: 'Rotate keys now' }).click();
    expect(await page.getByLabel('Password').count(), 'the sign-in page asks for the password').to.equal(1);
    await page.fill('input[name="username"]', 'root');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}${KEYS}/rotate`), page.click('button:has-text("Sign in")')]);
    await expectAccessible(page, 'the rotation confirmation');
    await screenshots(page, 'admin-keys-rotate');

    // From the keyboard: Cancel, then the danger button.
    await page.getByRole('link', { name: 'Cancel' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent.trim())).to.equal('Rotate keys');
    await Promise.all([page.waitForURL(`${server.url}${KEYS}`), page.keyboard.press('Enter')]);
    expect(await page.getByRole('status').textContent()).to.contain('Rotation started');

    const after = await server.services.keyOperations.list();
    const staged = after.filter((key) => key.state === 'next');
    expect(staged.map((key) => key.alg)).to.have.members([...new Set(before.map((key) => key.alg))]);
    const entries = await keyActions();
    expect(entries.filter((entry) => entry.action === 'key.staged')).to.have.length(staged.length);
    for (const entry of entries) expect(entry).to.include({ accountId: rootId, outcome: 'success' });
    expect(entries[0]?.details).to.include({ via: 'web' });

    await page.goto(`${server.url}${KEYS}/rotate`);
    await Promise.all([page.waitForURL(`${server.url}${KEYS}`), page.getByRole('button', { name: 'Rotate keys' }).click()]);
    expect(await page.getByRole('alert').textContent()).to.contain('already staged');
    expect(await server.services.keyOperations.list()).to.have.length(after.length);
  });

  it('removes a retiring key after a confirmation, and no other key from there', async function () {
    const [active] = (await server.services.keyOperations.list()).filter((key) => key.state === 'active');
    await server.services.keyOperations.retire(active!.kid, { accountId: null, via: 'cli' });
    await page.goto(`${server.url}${KEYS}`);
    const row = page.locator('tbody tr', { hasText: active!.kid });
    expect(await row.textContent()).to.contain('retiring');
    await row.getByRole('link', { name: /Remove now/ }).click();
    await expectAccessible(page, 'the removal confirmation');
    await Promise.all([page.waitForURL(`${server.url}${KEYS}`), page.getByRole('button', { name: 'Remove key' }).click()]);
    expect(await page.getByRole('status').textContent()).to.contain(`Key ${active!.kid} removed`);
    expect((await server.services.keyOperations.list()).some((key) => key.kid === active!.kid)).to.equal(false);
    const [removed] = await keyActions();
    expect(removed).to.include({ action: 'key.removed', accountId: rootId });
    expect(removed?.details).to.include({ kid: active!.kid, via: 'web' });

    const [signing] = (await server.services.keyOperations.list()).filter((key) => key.state === 'active');
    expect((await page.goto(`${server.url}${KEYS}/${signing!.kid}/retire`))?.status(), 'an active key is not removed from here').to.equal(404);
    expect((await postForm(page, `${server.url}${KEYS}/${signing!.kid}/retire`, { _csrf: 'forged' })).status).to.equal(403);
  });

  it('refuses a forged rotation (CSRF) and non-admins (403)', async function () {
    const before = await server.services.keyOperations.list();
    expect((await postForm(page, `${server.url}${KEYS}/rotate`, { _csrf: 'forged' })).status).to.equal(403);
    expect(await server.services.keyOperations.list()).to.deep.equal(before);

    const other = await browser.newPage();
    await signInToWeb(other, server, 'jules', PASSWORD, '/account');
    expect((await other.goto(`${server.url}${KEYS}`))?.status()).to.equal(403);
    expect((await postForm(other, `${server.url}${KEYS}/rotate`, { _csrf: 'forged' })).status).to.equal(403);
    await other.close();
  });
});

for (const backend of ['postgres+redis'] as Backend[]) {
  describe(`the console: signing keys, on ${backend}`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let browser: Browser;

    before(async function () {
      ({ server, browser } = await consoleDeployment(backend, { AUTH_KEY_ROTATION_DAYS: '90' }));
    });
    after(() => closeDeployment(server, browser));

    it('lists the keys and rotates them', async function () {
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, KEYS);
      expect(await page.getByRole('region', { name: 'Rotate' }).textContent(), 'AUTH_KEY_ROTATION_DAYS=90').to.contain('a replacement is staged when a key has signed for 90 days');
      await page.goto(`${server.url}${KEYS}/rotate`);
      await Promise.all([page.waitForURL(`${server.url}${KEYS}`), page.getByRole('button', { name: 'Rotate keys' }).click()]);
      expect(await page.getByRole('status').textContent()).to.contain('Rotation started');
      expect((await server.services.keyOperations.list()).filter((key) => key.state === 'next')).to.have.length.above(0);
    });
  });
}
