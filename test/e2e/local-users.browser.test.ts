// End to end in headless Chromium: the example instance keeps ChillFi3-shaped local users (numeric ids, items by
// foreign key). A user whose row was imported (access link with its local id) finds their items after signing in; a
// user without a row gets one at first sign-in, recorded at the auth server, and keeps it on the next sign-in.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Browser, Page } from 'playwright-core';
import type { Item } from '../../examples/instance/instance-database.js';
import { launchChromium } from '../support/chromium.js';
import { addAccount, PASSWORD } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { startRegisteredInstance, type RegisteredInstance } from '../sdk/support/instances.js';

describe('e2e: local users and their items in Chromium', function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: Browser;
  let instance: RegisteredInstance;
  let instanceId: string;

  before(async function () {
    [server, browser] = await Promise.all([startTestServer('sqlite'), launchChromium()]);
    instance = await startRegisteredInstance(server, 'Music');
    instanceId = (await server.services.instances.findByClientId(instance.clientId))!.id;
  });
  after(async function () {
    await browser?.close();
    await instance?.close();
    await server?.close();
  });

  async function signIn(username: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${instance.url}/`);
    await page.click('#sign-in');
    if (await page.locator('input[name="password"]').count()) {
      await page.fill('input[name="username"]', username);
      await page.fill('input[name="password"]', PASSWORD);
      await page.click('button:has-text("Sign in")');
    }
    await page.waitForURL(`${instance.url}/`);
    return page;
  }

  /** "My items" as the page's script asks for them; the ChillFi3 client sends "Bearer null" when it holds no token. */
  const myItems = (page: Page) =>
    page.evaluate(async () => {
      const response = await fetch('/api/items', { headers: { authorization: 'Bearer null' } });
      return ((await response.json()) as { items: Item[] }).items.map((item) => item.title);
    });
  const addItem = (page: Page, title: string) =>
    page.evaluate(async (body) => (await fetch('/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, JSON.stringify({ title }));

  it("an imported user finds the items of their local row, and nobody else's", async function () {
    // What the import leaves: the instance's rows as they were, and an access link with each row's id.
    instance.db.addUser({ id: 42, username: 'ulla', display_name: 'Ulla' });
    instance.db.addUser({ id: 43, username: 'someone' });
    instance.db.addItem(42, 'Ulla’s road trip');
    instance.db.addItem(43, 'Not Ulla’s');
    const account = await addAccount(server, 'ulla');
    await server.services.instances.grantAccess(instanceId, account.id, 'member', 42);

    const page = await signIn('ulla');
    expect(await page.textContent('#user-id')).to.equal('42');
    expect(await myItems(page)).to.deep.equal(['Ulla’s road trip']);
    expect(await addItem(page, 'Ulla’s new one')).to.equal(201);
    expect(await myItems(page)).to.deep.equal(['Ulla’s road trip', 'Ulla’s new one']);
    expect(instance.db.itemsOf(43).map((item) => item.title)).to.deep.equal(['Not Ulla’s']);
  });

  it('a user signing in for the first time gets a row of their own, recorded at the auth server, kept next time', async function () {
    const account = await addAccount(server, 'vera');
    const first = await signIn('vera');
    const id = Number(await first.textContent('#user-id'));
    expect(id).to.be.a('number').and.not.be.oneOf([42, 43]);
    expect(await myItems(first)).to.deep.equal([]);
    expect(await addItem(first, 'Vera’s first playlist')).to.equal(201);
    expect(await myItems(first)).to.deep.equal(['Vera’s first playlist']);
    expect((await server.services.instances.accessOf(instanceId, account.id))?.localUserId).to.equal(id);

    // Another browser, another sign-in: the new token carries the id, the items are still theirs.
    const again = await signIn('vera');
    expect(await again.textContent('#user-id')).to.equal(String(id));
    expect(await myItems(again)).to.deep.equal(['Vera’s first playlist']);
    const token = ((await (await again.context().request.get(`${instance.url}/debug/token`)).json()) as { accessToken: string }).accessToken;
    expect(decodeJwt(token)).to.include({ chillfi3_user_id: id });
  });
});
