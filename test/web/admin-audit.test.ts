import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { AUDIT_ACTION_FAMILIES } from '../../src/audit/audit-actions.js';
import { ADMIN_CONSOLE_PREFIX } from '../../src/web/page.js';
import { addAccount, addInstance, PASSWORD } from '../support/fixtures.js';
import { closeDeployment, consoleDeployment } from '../support/console.js';
import { POSTGRES_URL, scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { tcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import type { Backend, TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

const AUDIT = `${ADMIN_CONSOLE_PREFIX}/audit`;
const FORMULA = '=HYPERLINK("http://evil.example","click")';

/** A CSV line's cells: enough for the quoted cells these tests write (no line breaks inside). */
function cells(line: string): string[] {
  return [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map(([, cell = '']) => (cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell));
}

describe('the console: audit trail', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let julesId: string;
  let instanceId: string;
  let clientId: string;
  let rootId: string;

  before(async function () {
    ({ server, browser, rootId } = await consoleDeployment('sqlite'));
    julesId = (await addAccount(server, 'jules')).id;
    ({ instance: { id: instanceId, clientId } } = await addInstance(server, { name: 'Living room' }));
    const { audit } = server.services;
    for (let n = 0; n < 60; n++) await audit.record({ action: 'token.issued', outcome: 'success', instanceId, details: { grant_type: 'client_credentials', client_id: clientId } });
    await audit.record({ action: 'login', outcome: 'failure', accountId: julesId, ip: '203.0.113.7', details: { reason: 'invalid_credentials', client_id: clientId } });
    await audit.record({ action: 'login', outcome: 'failure', accountId: julesId, ip: '@SUM(A1:A9)', userAgent: FORMULA, details: { reason: 'invalid_credentials', client_id: clientId } });
    await audit.record({ action: 'login', outcome: 'success', accountId: julesId, details: { client_id: clientId } });
    page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, AUDIT);
  });
  after(() => closeDeployment(server, browser));

  it('shows the newest entries first, a page at a time through the cursor', async function () {
    expect(await page.title()).to.contain('Audit trail');
    expect(await page.locator('tbody tr').count()).to.equal(50);
    await expectAccessible(page, 'the audit trail');
    await screenshots(page, 'admin-audit');

    // The sign-in of the console itself is the newest; jules's come before, then the 60 token entries.
    const first = await page.locator('tbody tr').first().textContent();
    expect(first).to.contain('login');
    const total = (await server.services.audit.query({ limit: 500 })).events.length;
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Older entries' }).click()]);
    expect(page.url()).to.contain('cursor=');
    expect(await page.locator('tbody tr').count()).to.equal(total - 50);
    expect(await page.getByRole('link', { name: 'Older entries' }).count()).to.equal(0);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Newest entries' }).click()]);
    expect(page.url()).to.equal(`${server.url}${AUDIT}`);
  });

  it('filters by action, outcome, account, instance and days, submitted from the keyboard', async function () {
    await page.goto(`${server.url}${AUDIT}`);
    await page.getByLabel('Action', { exact: true }).selectOption('login');
    await page.getByLabel('Account').fill('jules');
    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByLabel('Account').focus();
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(new URL(page.url()).searchParams.get('user')).to.equal('jules');
    const rows = page.locator('tbody tr');
    expect(await rows.count()).to.equal(2);
    for (const row of await rows.all()) {
      expect(await row.textContent()).to.contain('failure');
      expect(await row.getByRole('link', { name: 'jules' }).getAttribute('href')).to.equal(`${ADMIN_CONSOLE_PREFIX}/users/${julesId}`);
    }
    expect(await page.getByLabel('Account').inputValue(), 'the filter stays in the form').to.equal('jules');
    await expectAccessible(page, 'the filtered audit trail');

    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ instance: clientId, action: 'token.*' })}`);
    expect(await page.locator('tbody tr').count()).to.equal(50);
    expect(await page.locator('tbody tr').first().getByRole('link', { name: 'Living room' }).getAttribute('href')).to.equal(`${ADMIN_CONSOLE_PREFIX}/instances/${instanceId}`);
    expect(await page.locator('tbody tr').first().textContent(), 'the client id beside the name').to.contain(clientId);

    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ user: 'jules', from: today, to: today })}`);
    expect(await page.locator('tbody tr').count()).to.equal(3);
    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ user: 'jules', from: tomorrow })}`);
    expect(await page.locator('tbody tr').count()).to.equal(0);
    expect(await page.getByText('No entry matches.').count()).to.equal(1);
    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ user: 'jules', to: yesterday })}`);
    expect(await page.locator('tbody tr').count()).to.equal(0);
  });

  it('names who acted by username (a deleted account by its id), the command line by its OS user, and only what an update changed', async function () {
    const { accountOperations, instanceOperations } = server.services;
    const gone = await addAccount(server, 'gone-admin', { isAdmin: true });
    await accountOperations.updateProfile(julesId, { displayName: 'Jules V', email: null }, { accountId: rootId, via: 'web' });
    await accountOperations.unlock(julesId, { accountId: gone.id, via: 'api' });
    await accountOperations.delete(gone.id, { accountId: rootId, via: 'web' });
    await instanceOperations.update(instanceId, { name: 'Living room', rateLimit: 120 }, { accountId: null, via: 'cli', osUser: 'alice' });

    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ user: 'jules', action: 'account.*' })}`);
    const byOf = async (action: string) => {
      const cells = page.locator('tbody tr', { hasText: action }).first().locator('td');
      return { by: (await cells.nth(4).textContent())?.trim(), details: (await cells.nth(7).textContent())?.trim() };
    };
    const updated = await byOf('account.profile_updated');
    expect(updated.by).to.equal('root (console)');
    expect(await page.locator('tbody tr', { hasText: 'account.profile_updated' }).getByRole('link', { name: 'root' }).getAttribute('href')).to.equal(`${ADMIN_CONSOLE_PREFIX}/users/${rootId}`);
    expect(updated.details, 'the email, unchanged, is not named').to.equal('displayName: "jules display" → "Jules V"');
    expect((await byOf('account.unlocked')).by).to.equal(`${gone.id} (deleted) (API)`);

    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ user: gone.id })}`);
    expect(await page.locator('tbody tr').first().locator('td').nth(3).textContent()).to.equal(`${gone.id} (deleted)`);

    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ instance: clientId, action: 'instance.updated' })}`);
    const instanceUpdate = await byOf('instance.updated');
    expect(instanceUpdate.by).to.equal('alice (command line)');
    expect(instanceUpdate.details, 'the name, unchanged, is not named').to.equal('rateLimit: none → 120');
    await expectAccessible(page, 'who acted in the audit trail');
  });

  it('offers every action the server records in a picker, and other names typed beside it', async function () {
    await page.goto(`${server.url}${AUDIT}`);
    const offered = await page.getByLabel('Action', { exact: true }).locator('option').evaluateAll((options) => options.map((option) => (option as unknown as { value: string }).value));
    expect(offered).to.include.members(AUDIT_ACTION_FAMILIES.flatMap((family) => family.actions));
    expect(offered).to.include.members(['token.*', 'account.*', 'key.*']);
    await page.getByLabel('Action', { exact: true }).selectOption('account.profile_updated');
    await page.getByLabel('Other actions').fill('login');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Filter' }).click()]);
    const actions = await page.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(new Set(actions)).to.deep.equal(new Set(['account.profile_updated', 'login']));
    expect(await page.getByLabel('Action', { exact: true }).inputValue(), 'the pick stays').to.equal('account.profile_updated');

    // A filter the picker does not list (a link from elsewhere) stays picked as it came.
    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ action: 'login,token.*' })}`);
    expect(await page.getByLabel('Action', { exact: true }).inputValue()).to.equal('login,token.*');
  });

  it('lets the keyboard reach the trail when it scrolls sideways on a phone', async function () {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${server.url}${AUDIT}`);
      const region = page.getByRole('region', { name: /Audit entries/ });
      expect(await region.getAttribute('tabindex')).to.equal('0');
      expect(await region.evaluate((element) => element.scrollWidth > element.clientWidth), 'the table scrolls on a phone').to.equal(true);
      await expectAccessible(page, 'the audit trail on a phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('says what is wrong with a filter (400) and keeps what was typed', async function () {
    const response = await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ from: '31/12/2026', user: 'jules' })}`);
    expect(response?.status()).to.equal(400);
    expect(await page.getByRole('alert').textContent()).to.contain('From');
    expect(await page.getByLabel('Account').inputValue()).to.equal('jules');
    const badCursor = await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ cursor: 'not-ours' })}`);
    expect(badCursor?.status()).to.equal(400);
    expect(await page.getByRole('alert').textContent()).to.contain('cursor');
  });

  it('exports the current filter as CSV, every page of it, with formulas neutralised', async function () {
    await page.goto(`${server.url}${AUDIT}?${new URLSearchParams({ user: 'jules', action: 'login' })}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).to.match(/^chillfi3-audit-\d{8}T\d{6}Z\.csv$/);
    const lines = (await readFile((await download.path()) as string, 'utf8')).trim().split('\n');
    expect(cells(lines[0] as string)).to.deep.equal(['id', 'at', 'action', 'outcome', 'account_id', 'username', 'instance_id', 'instance', 'ip', 'user_agent', 'details', 'by']);
    expect(lines).to.have.length(4);
    const injected = cells(lines.find((line) => line.includes('HYPERLINK')) as string);
    expect(injected[9], 'a cell starting with = is neutralised').to.equal(`'${FORMULA}`);
    expect(injected[8], 'and one starting with @').to.equal("'@SUM(A1:A9)");
    expect(injected[5]).to.equal('jules');
    expect(injected[2]).to.equal('login');

    // Past one query's page (MAX_AUDIT_PAGE, 500): the export goes on through the cursor.
    for (let n = 0; n < 450; n++) await server.services.audit.record({ action: 'token.refreshed', outcome: 'success', instanceId, details: { client_id: clientId } });
    const response = await page.request.get(`${server.url}${AUDIT}/export?${new URLSearchParams({ instance: clientId })}`, { headers: { accept: 'text/html' } });
    expect(response.status()).to.equal(200);
    expect(response.headers()['content-type']).to.equal('text/csv; charset=utf-8');
    expect(response.headers()['content-disposition']).to.match(/^attachment; filename="chillfi3-audit-.*\.csv"$/);
    expect(response.headers()['cache-control']).to.equal('no-store');
    const exported = (await response.text()).trim().split('\n');
    // 60 token.issued, 450 token.refreshed, and the instance.updated of the test before.
    expect(exported, 'the header and every entry of the instance').to.have.length(1 + 511);
    expect(new Set(exported.slice(1).map((line) => cells(line)[0])).size, 'each entry once').to.equal(511);
    const update = cells(exported.find((line) => line.includes('instance.updated')) as string);
    expect(update[11], 'who acted').to.equal('alice (command line)');
  });

  it('refuses non-admins (403)', async function () {
    const other = await browser.newPage();
    await signInToWeb(other, server, 'jules', PASSWORD, '/account');
    expect((await other.goto(`${server.url}${AUDIT}`))?.status()).to.equal(403);
    expect((await other.goto(`${server.url}${AUDIT}/export`))?.status()).to.equal(403);
    await other.close();
  });
});

for (const backend of ['postgres+redis'] as Backend[]) {
  describe(`the console: audit trail, on ${backend}`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let browser: Browser;

    before(async function () {
      ({ server, browser } = await consoleDeployment(backend));
    });
    after(() => closeDeployment(server, browser));

    it('shows the trail, filtered, and exports it', async function () {
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, `${AUDIT}?${new URLSearchParams({ user: 'root', action: 'login' })}`);
      expect(await page.locator('tbody tr').count()).to.equal(1);
      const response = await page.request.get(`${server.url}${AUDIT}/export?${new URLSearchParams({ user: 'root' })}`, { headers: { accept: 'text/html' } });
      expect((await response.text()).trim().split('\n').length).to.be.at.least(2);
    });
  });
}

describe('the console: an audit export longer than one request may wait on the database (postgres)', function () {
  this.timeout(120_000);
  const ROWS = 40_000;
  const ANSWER_DELAY_MS = 50;
  let database: ScratchDatabase;
  let relay: TcpRelay;
  let server: TestServer;
  let browser: Browser;

  before(async function () {
    // AUTH_DB_TIMEOUT_MS bounds what one request waits on the database in all (src/db/store-budget.ts). Through a relay
    // that holds every answer of the database back, each of the export's 80 pages waits at least 50 ms: together at
    // least 4 s, twice the bound, on any machine, while each page and every other request stays well within it (a
    // bound of 1 s once left a page of a loaded run short of it).
    database = await scratchPostgres();
    const postgres = new URL(POSTGRES_URL);
    relay = await tcpRelay({ host: postgres.hostname, port: Number(postgres.port) }, { answerDelayMs: ANSWER_DELAY_MS });
    const relayed = new URL(database.env.AUTH_DATABASE_URL as string);
    relayed.port = String(relay.port);
    // The server's own scratch database stays unused: this one is reached through the relay.
    ({ server, browser } = await consoleDeployment('postgres', { AUTH_DATABASE_URL: relayed.toString(), AUTH_DB_TIMEOUT_MS: '2000' }));
    // In steps, each well within the statement timeout that the bound also sets.
    for (let from = 1; from <= ROWS; from += 2_000) {
      await server.services.dataSource.query(
        `INSERT INTO auth_audit (id, at, action, outcome, details)
         SELECT gen_random_uuid()::text, now() - n * interval '1 second', 'token.issued', 'success', '{"grant_type":"client_credentials"}'
         FROM generate_series($1::int, $2::int) AS n`,
        [from, from + 1_999],
      );
    }
  });
  after(async function () {
    await closeDeployment(server, browser);
    await relay?.close();
    await database?.drop();
  });

  it('gives each page the whole bound, so the download ends with every entry', async function () {
    const page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, AUDIT);
    const response = await page.request.get(`${server.url}${AUDIT}/export?${new URLSearchParams({ action: 'token.issued' })}`, { headers: { accept: 'text/html' } });
    expect(response.status()).to.equal(200);
    const exported = (await response.text()).trim().split('\n');
    expect(exported, 'the header and every entry').to.have.length(1 + ROWS);
  });

  it('ends a download whose database stops answering midway with a last line that says it is incomplete', async function () {
    const page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, AUDIT);
    const cookie = (await page.context().cookies()).map(({ name, value }) => `${name}=${value}`).join('; ');
    const response = await fetch(`${server.url}${AUDIT}/export?${new URLSearchParams({ action: 'token.issued' })}`, { headers: { cookie, accept: 'text/html' } });
    expect(response.status, 'the answer started well').to.equal(200);
    let text = '';
    try {
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        // The first rows are on their way: from now on the database holds every answer back.
        if (text === '') relay.stall();
        text += decoder.decode(chunk, { stream: true });
      }
    } finally {
      relay.resume();
    }
    const lines = text.trim().split('\n');
    const last = cells(lines.at(-1) as string);
    expect(last[0]).to.match(/^EXPORT INCOMPLETE: the audit trail could not be read after the entry of \d{4}-\d\d-\d\dT.*; export again with "To" set to \d{4}-\d\d-\d\d for the rest$/);
    expect(lines.length - 2, 'some entries, not all').to.be.within(1, ROWS - 1);
    const lastEntry = cells(lines.at(-2) as string);
    expect(last[0]).to.contain(lastEntry[1]);
  });
});
