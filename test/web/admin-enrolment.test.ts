// The console's "Enrol a ChillFi3 server": a token made with its terms, shown once with the command to run, that
// registers one server; listed without the token while it may be used; withdrawn; a bad form said under its field.
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_CONSOLE_PREFIX } from '../../src/web/page.js';
import { PASSWORD } from '../support/fixtures.js';
import type { TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';
import { closeDeployment, consoleDeployment, expireResult, postForm, problemUnder } from '../support/console.js';

const INSTANCES = `${ADMIN_CONSOLE_PREFIX}/instances`;
const ENROL = `${INSTANCES}/enrol`;

describe('the console: enrol a ChillFi3 server', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;

  before(async function () {
    ({ server, browser } = await consoleDeployment('sqlite'));
    page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, INSTANCES);
  });
  after(() => closeDeployment(server, browser));

  function register(token: string, name: string) {
    return fetch(`${server.url}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: name, redirect_uris: ['https://music.example/auth/callback'] }),
    });
  }

  it('makes a token shown once with the command, which registers one server on its terms', async function () {
    await page.getByRole('link', { name: 'Enrol a ChillFi3 server' }).click();
    expect(new URL(page.url()).pathname).to.equal(ENROL);
    await expectAccessible(page, 'the enrol form');
    await screenshots(page, 'admin-instances-enrol');
    await page.getByLabel('Works for').selectOption({ label: '1 day' });
    await page.getByLabel('Invite only: the accounts given access').check();
    await page.getByLabel('Name (optional)').fill('Music at the club');
    await Promise.all([page.waitForURL(new RegExp(`${ENROL}/token/[\\w-]{22}$`)), page.getByRole('button', { name: 'Make enrolment token' }).click()]);
    await expectAccessible(page, 'the token page');
    const token = (await page.locator('#enrolment-token').textContent()) ?? '';
    expect(token).to.match(/^cf3e_/);
    expect(await page.locator('#enrol-command').textContent()).to.equal(
      `npx @chillfi3/auth-client enrol --server ${server.issuer} --token ${token} --url https://<its address>`,
    );
    const tokenPage = page.url();
    await page.getByRole('link', { name: 'I have copied it' }).click();
    const listed = (await page.locator('table').textContent()) ?? '';
    expect(listed).to.include('Music at the club').and.include('Invite only').and.not.include(token);

    const registered = await register(token, 'Asked name');
    expect(registered.status).to.equal(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    expect(await server.services.instances.findByClientId(clientId)).to.include({ name: 'Music at the club', accessPolicy: 'invite' });
    expect((await register(token, 'Again')).status).to.equal(401);

    await expireResult(server, tokenPage);
    const gone = await page.goto(tokenPage);
    expect(gone?.status()).to.equal(410);
    const audit = await server.services.audit.query({ actions: ['instance.enrolment_token_issued'] });
    expect(audit.events[0]?.details).to.include({ via: 'web', access_policy: 'invite', name: 'Music at the club' });
  });

  it('withdraws a token from the list: it registers nothing afterwards', async function () {
    await page.goto(`${server.url}${ENROL}`);
    await Promise.all([page.waitForURL(/\/token\//), page.getByRole('button', { name: 'Make enrolment token' }).click()]);
    const token = (await page.locator('#enrolment-token').textContent()) ?? '';
    await page.goto(`${server.url}${ENROL}`);
    await Promise.all([page.waitForURL(`${server.url}${ENROL}`), page.getByRole('button', { name: 'Withdraw' }).first().click()]);
    expect(await page.getByRole('status').first().textContent()).to.include('withdrawn');
    expect((await register(token, 'Withdrawn')).status).to.equal(401);
  });

  it('says a bad choice under its field', async function () {
    await page.goto(`${server.url}${ENROL}`);
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const answer = await postForm(page, `${server.url}${ENROL}`, { _csrf: csrf, ttl: '31536000', accessPolicy: 'open' });
    expect(answer.status).to.equal(400);
    await page.setContent(await (await page.request.post(`${server.url}${ENROL}`, { form: { _csrf: csrf, ttl: '31536000', accessPolicy: 'open' } })).text());
    expect(await problemUnder(page, 'Works for')).to.include('offered');
  });
});
