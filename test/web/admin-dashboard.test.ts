import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { AuditEventEntity } from '../../src/audit/audit-event-entity.js';
import { ADMIN_CONSOLE_PREFIX } from '../../src/web/page.js';
import { addAccount, addInstance, PASSWORD } from '../support/fixtures.js';
import { closeDeployment, consoleDeployment } from '../support/console.js';
import type { Backend, TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

/** The number the dashboard shows beside `label`. */
async function count(page: Page, label: string): Promise<number> {
  const stat = page.locator('.stat', { has: page.locator('.stat-label', { hasText: new RegExp(`^${label}$`) }) });
  return Number(await stat.locator('.stat-value').textContent());
}

describe('the console: dashboard', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;

  before(async function () {
    ({ server, browser } = await consoleDeployment('sqlite'));
    const { accounts, audit, dataSource } = server.services;
    await addAccount(server, 'second-admin', { isAdmin: true });
    const jules = await addAccount(server, 'jules');
    const gone = await addAccount(server, 'gone');
    await accounts.setDisabled(gone.id, true);
    const locked = await addAccount(server, 'locked-out');
    await accounts.reserveLoginAttempt(locked.id, 1, 300);
    await addInstance(server, { name: 'Living room' });

    for (let n = 0; n < 12; n++) await audit.record({ action: 'login', outcome: 'failure', accountId: jules.id, ip: '203.0.113.7', details: { reason: 'invalid_credentials' } });
    await audit.record({ action: 'login', outcome: 'failure', accountId: locked.id, ip: '198.51.100.4', details: { reason: 'locked' } });
    // Older than a day: on neither list.
    await dataSource.getRepository(AuditEventEntity).insert({
      id: '00000000-0000-7000-8000-000000000001',
      at: new Date(Date.now() - 2 * 86_400_000),
      action: 'login',
      outcome: 'failure',
      accountId: gone.id,
      instanceId: null,
      ip: null,
      userAgent: null,
      details: { reason: 'locked' },
    });
    page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, ADMIN_CONSOLE_PREFIX);
  });
  after(() => closeDeployment(server, browser));

  it('counts users, admins, disabled and locked accounts, instances and active keys', async function () {
    expect(await count(page, 'users')).to.equal(5);
    expect(await count(page, 'admins')).to.equal(2);
    expect(await count(page, 'disabled')).to.equal(1);
    expect(await count(page, 'locked out now')).to.equal(1);
    expect(await count(page, 'instances')).to.equal(1);
    const active = (await server.services.keyOperations.list()).filter((key) => key.state === 'active').length;
    expect(await count(page, 'active signing keys')).to.equal(active);
    expect(await server.services.accounts.counts()).to.deep.equal({ users: 5, estimated: false, admins: 2, disabled: 1, locked: 1 });
    await expectAccessible(page, 'the dashboard');
    await screenshots(page, 'admin-dashboard');
  });

  it('lists the last day’s failed sign-ins and lockouts, newest first, ten at most', async function () {
    const failed = page.locator('section', { has: page.getByRole('heading', { name: /Failed sign-ins/ }) }).locator('li');
    expect(await failed.count()).to.equal(10);
    expect(await failed.first().textContent()).to.contain('locked-out').and.contain('locked');
    expect(await failed.nth(1).textContent()).to.contain('jules').and.contain('invalid credentials');
    const lockouts = page.locator('section', { has: page.getByRole('heading', { name: /Lockouts/ }) }).locator('li');
    expect(await lockouts.count(), 'the lockout of two days ago is not shown').to.equal(1);
    expect(await lockouts.first().textContent()).to.contain('locked-out').and.contain('198.51.100.4');
  });

  it('links every section, reachable with the keyboard', async function () {
    const reached = new Set<string>();
    for (let n = 0; n < 40; n++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent?.trim() ?? ''));
    }
    expect([...reached]).to.include.members(['Users', 'Instances', 'Audit trail', 'Signing keys']);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Instances' }).focus();
    await Promise.all([page.waitForURL(`${server.url}${ADMIN_CONSOLE_PREFIX}/instances`), page.keyboard.press('Enter')]);
    await page.goto(`${server.url}${ADMIN_CONSOLE_PREFIX}`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'All failed sign-ins in the audit trail' }).click()]);
    expect(new URL(page.url()).searchParams.get('outcome')).to.equal('failure');
    expect(await page.locator('tbody tr').count()).to.equal(13);
  });

  it('refuses non-admins (403)', async function () {
    const other = await browser.newPage();
    await signInToWeb(other, server, 'jules', PASSWORD, '/account');
    expect((await other.goto(`${server.url}${ADMIN_CONSOLE_PREFIX}`))?.status()).to.equal(403);
    await other.close();
  });
});

for (const backend of ['postgres+redis'] as Backend[]) {
  describe(`the console: dashboard, on ${backend}`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let browser: Browser;

    before(async function () {
      ({ server, browser } = await consoleDeployment(backend));
      const locked = await addAccount(server, 'locked-out');
      await server.services.accounts.reserveLoginAttempt(locked.id, 1, 300);
      await server.services.audit.record({ action: 'login', outcome: 'failure', accountId: locked.id, details: { reason: 'locked' } });
    });
    after(() => closeDeployment(server, browser));

    it('counts in the database and lists the lockouts', async function () {
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, ADMIN_CONSOLE_PREFIX);
      expect(await count(page, 'users')).to.equal(2);
      expect(await count(page, 'locked out now')).to.equal(1);
      const lockouts = page.locator('section', { has: page.getByRole('heading', { name: /Lockouts/ }) }).locator('li');
      expect(await lockouts.count()).to.equal(1);
    });
  });
}
