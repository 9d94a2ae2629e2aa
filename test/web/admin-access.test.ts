import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { Instance } from '../../src/instances/instance-entity.js';
import { auditActions, closeDeployment, consoleDeployment, postForm, problemUnder } from '../support/console.js';
import { addAccount, addInstance, codeFlow, PASSWORD } from '../support/fixtures.js';
import type { Backend, TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

function accessPath(instance: Instance): string {
  return `/admin/instances/${instance.id}/access`;
}

describe('the admin console: access to an instance', function () {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let invite: Instance;

  before(async function () {
    ({ server, browser } = await consoleDeployment('sqlite'));
    invite = (await addInstance(server, { name: 'Invite only', accessPolicy: 'invite' })).instance;
    page = await (await browser.newContext()).newPage();
    await signInToWeb(page, server, 'root', PASSWORD, accessPath(invite));
  });
  after(() => closeDeployment(server, browser));

  function accessOf(instance: Instance, username: string) {
    return server.services.accounts.findByUsername(username).then((account) => server.services.instances.accessOf(instance.id, account!.id));
  }

  async function submit(button: string): Promise<number | undefined> {
    const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]);
    return response?.status();
  }

  it('invites a member by username with a role and local id, so that only members sign in', async function () {
    const { client, instance: members } = await addInstance(server, { name: 'Members only', accessPolicy: 'invite' });
    const dana = await addAccount(server, 'dana');
    expect((await codeFlow(client, { username: 'dana' }).catch((error: Error) => error)) instanceof Error, 'not a member yet').to.equal(true);

    await page.goto(`${server.url}${accessPath(members)}`);
    expect(await page.locator('main').textContent()).to.contain('No member');
    await expectAccessible(page, 'the access page without members');
    await page.getByLabel('Username').fill('dana');
    await page.getByLabel('Role').selectOption('admin');
    await page.getByLabel('Local id').fill('42');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.getByRole('status').textContent()).to.contain('dana may use Members only as admin');
    expect(await accessOf(members, 'dana')).to.include({ role: 'admin', localUserId: 42 });
    expect(await auditActions(server, dana.id)).to.include('access.granted');

    const { tokens } = await codeFlow(client, { username: 'dana' });
    expect(tokens.access_token).to.be.a('string');
  });

  it('keeps what was typed when an invitation is refused: an unknown user, a local id that is not a number', async function () {
    await page.goto(`${server.url}${accessPath(invite)}`);
    await page.getByLabel('Username').fill('nobody');
    expect(await submit('Invite')).to.equal(400);
    expect(await problemUnder(page, 'Username')).to.equal('There is no user named "nobody".');
    expect(await page.getByLabel('Username').inputValue()).to.equal('nobody');

    // Both at once, each under its field.
    await page.getByLabel('Local id').fill('4x');
    expect(await submit('Invite')).to.equal(400);
    expect(await problemUnder(page, 'Username')).to.equal('There is no user named "nobody".');
    expect(await problemUnder(page, /^Local id/)).to.equal("The user's number in that server's database (1 or more), or empty for none.");
    expect(await page.getByRole('alert').textContent()).to.equal('2 fields need a change: each problem is said under its field.');

    await addAccount(server, 'erin');
    await page.getByLabel('Username').fill('erin');
    await page.getByLabel('Local id').fill('4x');
    expect(await submit('Invite')).to.equal(400);
    expect(await problemUnder(page, /^Local id/)).to.equal("The user's number in that server's database (1 or more), or empty for none.");
    expect(await page.getByLabel('Username').getAttribute('aria-invalid'), 'a good field is not marked').to.equal(null);
    expect(await page.getByLabel('Local id').inputValue()).to.equal('4x');
    expect(await accessOf(invite, 'erin')).to.equal(null);
    await expectAccessible(page, 'the access page with an error');
  });

  it("changes a member's role and local id, and refuses a bad one with the row as typed", async function () {
    const finn = await addAccount(server, 'finn');
    await server.services.instances.grantAccess(invite.id, finn.id, 'member', 7);
    await page.goto(`${server.url}${accessPath(invite)}`);
    await expectAccessible(page, 'the access page');
    await screenshots(page, 'admin-access');
    await page.getByLabel('Role of finn').selectOption('admin');
    await page.getByLabel('Local id of finn (empty: none)').fill('');
    expect(await submit('Save finn')).to.equal(200);
    expect(await page.getByRole('status').textContent()).to.contain('Access of finn to Invite only saved');
    expect(await accessOf(invite, 'finn')).to.include({ role: 'admin', localUserId: null });
    expect(await auditActions(server, finn.id)).to.include('access.changed');

    await page.getByLabel('Local id of finn (empty: none)').fill('-3');
    expect(await submit('Save finn')).to.equal(400);
    expect(await page.getByLabel('Local id of finn (empty: none)').inputValue()).to.equal('-3');
    expect(await problemUnder(page, 'Local id of finn (empty: none)')).to.contain('(1 or more)');
    expect(await page.getByLabel('Username').getAttribute('aria-invalid'), 'the invite form is not marked').to.equal(null);
    await expectAccessible(page, 'the access page with a row refused');
    expect(await accessOf(invite, 'finn')).to.include({ localUserId: null });
  });

  it('removes a member after confirming, signing them out of that instance', async function () {
    const { client, instance } = await addInstance(server, { name: 'Leaving', accessPolicy: 'invite' });
    const gus = await addAccount(server, 'gus');
    await server.services.instances.grantAccess(instance.id, gus.id, 'member');
    await codeFlow(client, { username: 'gus' });
    expect((await server.services.accountSessions.list(gus.id))[0]?.clientIds).to.include(instance.clientId);

    await page.goto(`${server.url}${accessPath(instance)}`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Remove gus' }).click()]);
    expect(await page.locator('main').textContent()).to.contain('can no longer sign in to Leaving');
    await expectAccessible(page, 'the remove confirmation');
    await screenshots(page, 'admin-access-confirm');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Remove access' }).click()]);
    expect(page.url()).to.equal(`${server.url}${accessPath(instance)}`);
    expect(await accessOf(instance, 'gus')).to.equal(null);
    expect((await server.services.accountSessions.list(gus.id))[0]?.clientIds ?? []).to.not.include(instance.clientId);
    expect(await auditActions(server, gus.id)).to.include('access.revoked');
  });

  it("gives, changes and removes access from the user's page, coming back to it", async function () {
    const hana = await addAccount(server, 'hana');
    await page.goto(`${server.url}/admin/users/${hana.id}`);
    await page.getByLabel('Give access to').selectOption({ label: `Invite only (client id ${invite.clientId})` });
    await page.getByLabel('Local id (optional)').fill('12x');
    expect(await submit('Give access')).to.equal(400);
    expect(await problemUnder(page, 'Local id (optional)')).to.equal("The user's number in that server's database (1 or more), or empty for none.");
    expect(await page.getByLabel('Local id (optional)').inputValue()).to.equal('12x');
    await expectAccessible(page, 'the user page with access refused');

    await page.getByLabel('Local id (optional)').fill('12');
    expect(await submit('Give access')).to.equal(200);
    expect(page.url()).to.equal(`${server.url}/admin/users/${hana.id}`);
    expect(await accessOf(invite, 'hana')).to.include({ role: 'member', localUserId: 12 });
    expect(await page.locator('td[data-label="Instance"]').textContent(), 'the client id beside the name').to.contain('Invite only').and.contain(invite.clientId);

    await page.getByLabel('Role on Invite only').selectOption('admin');
    expect(await submit('Save access to Invite only')).to.equal(200);
    expect(page.url()).to.equal(`${server.url}/admin/users/${hana.id}`);
    expect(await accessOf(invite, 'hana')).to.include({ role: 'admin', localUserId: 12 });

    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Remove access to Invite only' }).click()]);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Remove access' }).click()]);
    expect(page.url()).to.equal(`${server.url}/admin/users/${hana.id}`);
    expect(await accessOf(invite, 'hana')).to.equal(null);
    expect(await auditActions(server, hana.id)).to.include.members(['access.granted', 'access.changed', 'access.revoked']);
  });

  it('pages the members', async function () {
    const { instance } = await addInstance(server, { name: 'Crowded' });
    for (let n = 0; n < 27; n++) {
      const account = await addAccount(server, `crowd-${String(n).padStart(2, '0')}`);
      await server.services.instances.grantAccess(instance.id, account.id, 'member');
    }
    await page.goto(`${server.url}${accessPath(instance)}`);
    expect(await page.locator('tbody tr').count()).to.equal(25);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Next' }).click()]);
    expect(await page.locator('tbody tr').count()).to.equal(2);
  });

  it('shows unknown instances and links as not found, and refuses a form without the CSRF token', async function () {
    expect((await page.goto(`${server.url}/admin/instances/no-such-instance/access`))?.status()).to.equal(404);
    const ivy = await addAccount(server, 'ivy');
    expect((await page.goto(`${server.url}${accessPath(invite)}/${ivy.id}/remove`))?.status()).to.equal(404);
    const forged = await postForm(page, `${server.url}${accessPath(invite)}`, { _csrf: 'forged', username: 'ivy', role: 'admin' });
    expect(forged.status).to.equal(403);
    expect(await accessOf(invite, 'ivy')).to.equal(null);
  });

  it('reaches the invitation form and the members with the keyboard', async function () {
    const kai = await addAccount(server, 'kai');
    await server.services.instances.grantAccess(invite.id, kai.id, 'member');
    await page.goto(`${server.url}${accessPath(invite)}`);
    const reached = new Set<string>();
    for (let n = 0; n < 30; n++) {
      await page.keyboard.press('Tab');
      const [text, name] = (await page.evaluate('[document.activeElement?.textContent ?? "", document.activeElement?.getAttribute("name") ?? ""]')) as [string, string];
      reached.add(name || text.trim());
    }
    expect([...reached]).to.include.members(['username', 'role', 'localUserId', 'Invite', 'kai', 'Save kai', 'Remove kai']);
  });

  it('refuses non-admins with a 403 page', async function () {
    await addAccount(server, 'plain');
    const other = await browser.newContext();
    const plainPage = await other.newPage();
    await signInToWeb(plainPage, server, 'plain');
    expect((await plainPage.goto(`${server.url}${accessPath(invite)}`))?.status()).to.equal(403);
    await other.close();
  });
});

for (const backend of ['postgres+redis'] as Backend[]) {
  describe(`the admin console: access to an instance, on ${backend}`, function () {
    let server: TestServer;
    let browser: Browser;

    before(async function () {
      ({ server, browser } = await consoleDeployment(backend));
    });
    after(() => closeDeployment(server, browser));

    it('invites a member and removes them', async function () {
      const { instance } = await addInstance(server, { name: 'Shared', accessPolicy: 'invite' });
      const kim = await addAccount(server, 'kim');
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, accessPath(instance));
      await page.getByLabel('Username').fill('kim');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Invite', exact: true }).click()]);
      expect(await server.services.instances.accessOf(instance.id, kim.id)).to.include({ role: 'member' });
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Remove kim' }).click()]);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Remove access' }).click()]);
      expect(await server.services.instances.accessOf(instance.id, kim.id)).to.equal(null);
    });
  });
}
