import { expect } from 'chai';
import type { Browser, BrowserContext, Page as BrowserPage } from 'playwright-core';
import { PasswordLinkEntity } from '../../src/accounts/password-link-entity.js';
import { FRESH_SIGN_IN_SECONDS } from '../../src/web/web-session.js';
import { BrowserAgent, formAction, hiddenInputs, type Page } from '../support/browser-agent.js';
import { addAccount, addInstance, codeFlow, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type Backend, type TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';
import { ageSignIn, auditActions, closeDeployment, consoleDeployment, expireResult, postForm, problemUnder, submitUnchecked } from '../support/console.js';

const USERS = '/admin/users';
/** The page a set-password link is shown on: the user's, under the id of the kept result (src/web/one-time-results.ts). */
const LINK_PAGE = new RegExp(`${USERS}/[\\w-]+/password-link/[\\w-]{22}$`);

describe('the admin console: users', function () {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: BrowserPage;
  let rootId: string;

  before(async function () {
    ({ server, browser, rootId } = await consoleDeployment('sqlite'));
    context = await browser.newContext();
    page = await context.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, USERS);
  });
  after(() => closeDeployment(server, browser));

  function accountNamed(username: string) {
    return server.services.accounts.findByUsername(username);
  }

  async function openUser(username: string): Promise<void> {
    const account = await accountNamed(username);
    await page.goto(`${server.url}${USERS}/${account?.id}`);
  }

  async function confirmWith(label: string): Promise<void> {
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: label }).click()]);
  }

  it('lists the users a page at a time and finds them by the start of their username, display name or email', async function () {
    for (let n = 0; n < 27; n++) await addAccount(server, `listed-${String(n).padStart(2, '0')}`, { email: `listed${n}@example.org` });
    await page.goto(`${server.url}${USERS}`);
    expect(await page.title()).to.contain('Users');
    expect(await page.locator('tbody tr').count()).to.equal(25);
    await expectAccessible(page, 'the users list');
    await screenshots(page, 'admin-users');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Next' }).click()]);
    expect(page.url()).to.contain('page=2');
    expect(await page.locator('tbody tr').count()).to.equal(3);
    expect(await page.locator('tbody').textContent()).to.contain('root');

    await page.getByLabel('Search by the start of a username, display name or email').fill('LISTED7@example');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.locator('tbody tr').count()).to.equal(1);
    expect(await page.locator('tbody td[data-label="Username"]').textContent()).to.equal('listed-07');
    await page.getByLabel('Search by the start of a username, display name or email').fill('listed-01 DISPLAY');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Search' }).click()]);
    expect(await page.locator('tbody tr').count()).to.equal(1);
    await page.getByLabel('Search by the start of a username, display name or email').fill('nobody-like-this');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.locator('main').textContent()).to.contain('Nobody matches');
  });

  it('refuses a page number that is not one with the friendly error page', async function () {
    const response = await page.goto(`${server.url}${USERS}?page=abc`);
    expect(response?.status()).to.equal(400);
    expect(await page.locator('h1').textContent()).to.contain('We could not complete that request');
  });

  it('creates a user with a password, and one without, who gets a set-password link once', async function () {
    await page.goto(`${server.url}${USERS}`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New user' }).click()]);
    await expectAccessible(page, 'the new user form');
    await screenshots(page, 'admin-users-new');
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Display name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill('ada@example.org');
    await page.getByLabel('Password').fill('a long enough password for ada');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.getByRole('status').textContent()).to.contain('User ada created');
    const ada = await accountNamed('ada');
    expect(ada?.displayName).to.equal('Ada Lovelace');
    expect(ada?.isAdmin).to.equal(false);
    expect(await server.services.accounts.hasPassword(ada!.id)).to.equal(true);
    const { events } = await server.services.audit.query({ accountId: ada!.id, actions: ['account.created'] });
    expect(events[0]?.details, 'done by the signed-in admin, through the web').to.include({ by: rootId, via: 'web' });

    await page.goto(`${server.url}${USERS}/new`);
    await page.getByLabel('Username').fill('grace');
    await page.getByLabel('Admin of this server').check();
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(await page.locator('h1').textContent()).to.contain('User grace created');
    const link = await page.getByLabel('Set-password link').inputValue();
    expect(link).to.match(new RegExp(`^${server.issuer}/set-password\\?token=`));
    await expectAccessible(page, 'the set-password link page');
    await screenshots(page, 'admin-users-link');
    const grace = await accountNamed('grace');
    expect(grace?.isAdmin).to.equal(true);
    expect(await server.services.accounts.hasPassword(grace!.id)).to.equal(false);
    expect(await auditActions(server, grace!.id)).to.include.members(['account.created', 'account.password_link_issued']);
    expect((await fetch(link, { headers: { accept: 'text/html' } })).status).to.equal(200);

    // Grace's own page for the link: a short password and a different repetition, both said at once under their fields.
    const own = await browser.newPage();
    await own.goto(link);
    await own.fill('#password', 'short');
    await own.fill('#confirm', 'shorter');
    const refused = await submitUnchecked(own, 'Set password');
    expect(refused.status()).to.equal(400);
    expect(await problemUnder(own, 'New password')).to.match(/^The password must be at least \d+ characters long\.$/);
    expect(await own.getByLabel('New password').getAttribute('aria-describedby'), 'its error, then its hint').to.equal('password-error password-hint');
    expect(await problemUnder(own, 'Repeat it')).to.equal('Not the same as the password above.');
    await expectAccessible(own, 'the set-password page with a problem under each field');
    await screenshots(own, 'set-password-problems');
    await own.fill('#password', PASSWORD);
    await own.fill('#confirm', PASSWORD);
    await own.getByRole('button', { name: 'Set password' }).click();
    await own.waitForSelector('h1:has-text("Your password is set")');
    await own.close();
  });

  it('reloading "user created" or a new link shows the same link again, making no other; once gone, a clear page says so', async function () {
    await page.goto(`${server.url}${USERS}/new`);
    await page.getByLabel('Username').fill('lin');
    await Promise.all([page.waitForURL(LINK_PAGE), page.getByRole('button', { name: 'Create user' }).click()]);
    const createdUrl = page.url();
    const link = await page.getByLabel('Set-password link').inputValue();
    const lin = (await accountNamed('lin'))!;
    const actions = await auditActions(server, lin.id);

    const reloaded = await page.reload();
    expect(reloaded?.status()).to.equal(200);
    expect(reloaded?.headers()['cache-control']).to.equal('no-store');
    expect(await page.locator('h1').textContent()).to.contain('User lin created');
    expect(await page.getByLabel('Set-password link').inputValue(), 'the same link, not lost').to.equal(link);
    expect((await fetch(link, { headers: { accept: 'text/html' } })).status, 'and still the live one').to.equal(200);

    await openUser('lin');
    await confirmWith('New set-password link');
    await page.waitForURL(LINK_PAGE);
    const newer = await page.getByLabel('Set-password link').inputValue();
    await page.reload();
    expect(await page.getByLabel('Set-password link').inputValue()).to.equal(newer);
    expect((await fetch(newer, { headers: { accept: 'text/html' } })).status, 'a reload issued no newer link').to.equal(200);
    expect(await auditActions(server, lin.id)).to.deep.equal([...actions, 'account.password_link_issued']);

    // The pages of one user do not open under another's address.
    const ada = (await accountNamed('ada'))!;
    const elsewhere = await page.goto(page.url().replace(lin.id, ada.id));
    expect(elsewhere?.status()).to.equal(410);

    await expireResult(server, createdUrl);
    const gone = await page.goto(createdUrl);
    expect(gone?.status()).to.equal(410);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Shown once');
    expect(await page.content()).to.not.contain(link);
  });

  it('keeps what was typed when a new user is refused: a bad username, a taken one, a weak password', async function () {
    await page.goto(`${server.url}${USERS}/new`);
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Display name').fill('Another Ada');
    const taken = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(taken[0]?.status()).to.equal(409);
    expect(await problemUnder(page, 'Username')).to.contain('Username "ada" is taken');
    expect(await page.getByLabel('Display name').inputValue()).to.equal('Another Ada');

    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('short');
    const weak = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(weak[0]?.status()).to.equal(400);
    expect(await problemUnder(page, /^Password/)).to.match(/^The password must be at least \d+ characters long\.$/);
    expect(await page.getByLabel('Username').inputValue()).to.equal('bob');
    expect(await accountNamed('bob')).to.equal(null);

    await page.getByLabel('Username').fill(' spaced');
    const bad = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(bad[0]?.status()).to.equal(400);
    expect(await problemUnder(page, 'Username')).to.not.equal('');

    await page.getByLabel('Username').fill('<script>alert(1)</script>');
    const markup = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(markup[0]?.status()).to.equal(400);
    expect(await problemUnder(page, 'Username')).to.equal('May only hold letters, digits and . _ - @, and must start with a letter or a digit.');
    expect(await page.getByLabel('Username').getAttribute('aria-describedby'), 'its error, then its rule').to.equal('username-error username-hint');
    expect(await page.getByLabel('Username').inputValue()).to.equal('<script>alert(1)</script>');
    expect(await page.locator('#username-hint').textContent(), 'the rule under the field').to.equal('Letters, digits and . _ - @ (up to 50), starting with a letter or a digit.');

    await page.getByLabel('Username').fill('\uff21\uff24\uff21');
    const lookAlike = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(lookAlike[0]?.status(), 'full-width ＡＤＡ is ada').to.equal(409);
    expect(await problemUnder(page, 'Username')).to.contain('Username "ＡＤＡ" is taken');
    await expectAccessible(page, 'the new user form with an error');

    // Every problem at once, each under its field, in the form's words: no "Too big: expected string".
    // The fields' maxlength would cut what is typed: a browser that ignores it (or a script) sends the whole of it.
    for (const id of ['username', 'displayName']) await page.locator(`#${id}`).evaluate((input) => input.removeAttribute('maxlength'));
    await page.getByLabel('Username').fill('u'.repeat(80));
    await page.getByLabel('Display name').fill('d'.repeat(150));
    await page.getByLabel(/^Email/).fill('not an address');
    const several = await submitUnchecked(page, 'Create user');
    expect(several.status()).to.equal(400);
    expect(await problemUnder(page, /^Display name/)).to.equal('At most 100 characters.');
    expect(await problemUnder(page, /^Email/)).to.match(/^Not an email address\.$|address/);
    expect(await problemUnder(page, 'Username')).to.not.match(/Too big|expected string/);
    expect(await page.getByRole('alert').textContent()).to.equal('3 fields need a change: each problem is said under its field.');
    await expectAccessible(page, 'the new user form with a problem under each field');
    await screenshots(page, 'admin-users-new-problems');
  });

  it('edits a profile, and refuses a picture that is no web address with the values kept', async function () {
    await openUser('ada');
    await expectAccessible(page, 'the user page');
    await page.getByLabel('Display name').fill('Countess Ada');
    await page.getByLabel('Bio').fill('Wrote the first program.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save profile' }).click()]);
    expect(await page.getByRole('status').textContent()).to.contain('Profile saved');
    const ada = await accountNamed('ada');
    expect(ada?.displayName).to.equal('Countess Ada');
    expect(ada?.bio).to.equal('Wrote the first program.');
    expect(await auditActions(server, ada!.id)).to.include('account.profile_updated');

    await page.getByLabel('Display name').fill('Changed again');
    await page.getByLabel('Picture URL').fill('javascript:alert(1)');
    const refused = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save profile' }).click()]);
    expect(refused[0]?.status()).to.equal(400);
    expect(await problemUnder(page, 'Picture URL')).to.contain('Picture must be an http or https URL');
    expect(await page.getByLabel('Display name').getAttribute('aria-invalid'), 'a good field is not marked').to.equal(null);
    expect(await page.getByLabel('Display name').inputValue()).to.equal('Changed again');
    expect((await accountNamed('ada'))?.displayName).to.equal('Countess Ada');
  });

  it('disables after confirming, ending the sessions, and enables again', async function () {
    const { client } = await addInstance(server, { name: 'Disco' });
    const ada = (await accountNamed('ada'))!;
    await server.services.accountOperations.setPassword(ada.id, PASSWORD, { accountId: null, via: 'cli' });
    await codeFlow(client, { username: 'ada' });
    expect(await server.services.accountSessions.list(ada.id)).to.have.length(1);
    await openUser('ada');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Disable account' }).click()]);
    await expectAccessible(page, 'the disable confirmation');
    await screenshots(page, 'admin-users-confirm');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Cancel' }).click()]);
    expect((await accountNamed('ada'))?.disabled).to.equal(false);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Disable account' }).click()]);
    await confirmWith('Disable account');
    expect(await page.getByRole('status').textContent()).to.contain('ada is disabled');
    expect((await accountNamed('ada'))?.disabled).to.equal(true);
    expect(await server.services.accountSessions.list(ada.id)).to.deep.equal([]);
    expect(await auditActions(server, ada.id)).to.include('account.disabled');

    await confirmWith('Enable account');
    expect((await accountNamed('ada'))?.disabled).to.equal(false);
    expect(await auditActions(server, ada.id)).to.include('account.enabled');
  });

  it('unlocks a locked account', async function () {
    const ada = (await accountNamed('ada'))!;
    await server.services.accounts.reserveLoginAttempt(ada.id, 1, 300);
    await openUser('ada');
    expect(await page.locator('main').textContent()).to.contain('locked until');
    await confirmWith('Unlock');
    expect((await accountNamed('ada'))?.lockedUntil).to.equal(null);
    expect(await auditActions(server, ada.id)).to.include('account.unlocked');
  });

  it('makes an admin, and removes admin after confirming', async function () {
    const ada = (await accountNamed('ada'))!;
    await openUser('ada');
    await confirmWith('Make admin');
    expect((await accountNamed('ada'))?.isAdmin).to.equal(true);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Remove admin' }).click()]);
    await confirmWith('Remove admin');
    expect((await accountNamed('ada'))?.isAdmin).to.equal(false);
    expect(await auditActions(server, ada.id)).to.include.members(['account.admin_granted', 'account.admin_revoked']);
  });

  it('issues a new set-password link, and clears the password after confirming', async function () {
    const ada = (await accountNamed('ada'))!;
    await openUser('ada');
    await confirmWith('New set-password link');
    expect(await page.locator('h1').textContent()).to.contain('New set-password link for ada');
    expect(await page.getByLabel('Set-password link').inputValue()).to.contain('/set-password?token=');
    expect(await server.services.accounts.hasPassword(ada.id)).to.equal(true);

    await openUser('ada');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Clear password' }).click()]);
    await confirmWith('Clear password');
    expect(await page.locator('h1').textContent()).to.contain('Password of ada cleared');
    expect(await server.services.accounts.hasPassword(ada.id)).to.equal(false);
    expect(await auditActions(server, ada.id)).to.include.members(['account.password_link_issued', 'account.password_cleared']);
    const cleared = (await auditActions(server, ada.id)).filter((action) => action === 'account.password_cleared').length;
    await page.reload();
    expect(await page.locator('h1').textContent()).to.contain('Password of ada cleared');
    expect((await auditActions(server, ada.id)).filter((action) => action === 'account.password_cleared'), 'a reload clears nothing again').to.have.length(cleared);
  });

  it("lists a user's sessions with the instances signed in, and ends one or all after confirming", async function () {
    const { client, instance } = await addInstance(server, { name: 'Jukebox' });
    const jules = await addAccount(server, 'jules');
    await server.services.instances.grantAccess(instance.id, jules.id, 'admin', 17);
    await codeFlow(client, { username: 'jules' });
    await codeFlow(client, { username: 'jules' });
    await openUser('jules');
    await screenshots(page, 'admin-users-show');
    expect(await page.locator('#sessions-title + .table-scroll tbody tr').count()).to.equal(2);
    expect(await page.locator('#sessions-title + .table-scroll').textContent(), 'named with the client id beside').to.contain(`${instance.name} (${instance.clientId})`);
    await expectAccessible(page, 'the user page with sessions');

    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /^End the session/ }).first().click()]);
    await confirmWith('End session');
    expect(await server.services.accountSessions.list(jules.id)).to.have.length(1);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'End all sessions' }).click()]);
    await confirmWith('End all sessions');
    expect(await server.services.accountSessions.list(jules.id)).to.deep.equal([]);
    expect(await page.locator('main').textContent()).to.contain('Not signed in anywhere');
    expect((await auditActions(server, jules.id)).filter((action) => action === 'sessions.ended')).to.have.length(2);
  });

  it('deletes a user after confirming, asking for the password again when the sign-in is older than ten minutes', async function () {
    const doomed = await addAccount(server, 'doomed');
    await openUser('doomed');
    await ageSignIn(server, rootId, 700);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Delete user' }).click()]);
    expect(await page.getByLabel('Password').count(), 'the sign-in page asks for the password').to.equal(1);
    await page.fill('input[name="username"]', 'root');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}${USERS}/${doomed.id}/delete`), page.click('button:has-text("Sign in")')]);
    await confirmWith('Delete account');
    expect(page.url()).to.equal(`${server.url}${USERS}`);
    expect(await page.getByRole('status').textContent()).to.contain('User doomed deleted');
    expect(await server.services.accounts.find(doomed.id)).to.equal(null);
    expect(await auditActions(server, doomed.id)).to.include('account.deleted');
  });

  it('asks again for the password when a stale sign-in posts the delete form', async function () {
    const doomed = await addAccount(server, 'doomed-too');
    await page.goto(`${server.url}${USERS}/${doomed.id}/delete`);
    await ageSignIn(server, rootId, 700);
    await page.getByRole('button', { name: 'Delete account' }).click();
    await page.waitForSelector('input[name="password"]');
    expect(await server.services.accounts.find(doomed.id)).to.not.equal(null);
    await page.fill('input[name="username"]', 'root');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}${USERS}/${doomed.id}/delete`), page.click('button:has-text("Sign in")')]);
  });

  it('refuses a form without the CSRF token, and shows unknown users as not found', async function () {
    const target = await addAccount(server, 'guarded');
    const refused = await postForm(page, `${server.url}${USERS}/${target.id}/admin`, { _csrf: 'forged' });
    expect(refused.status).to.equal(403);
    expect((await accountNamed('guarded'))?.isAdmin).to.equal(false);
    const missing = await page.goto(`${server.url}${USERS}/no-such-user`);
    expect(missing?.status()).to.equal(404);
    expect(await page.locator('h1').textContent()).to.contain('Page not found');
    expect((await page.goto(`${server.url}${USERS}/${target.id}/sessions/no-such-session/end`))?.status()).to.equal(404);
  });

  it('does not let an admin lock themself out: no disabling, deleting or removing admin from their own account', async function () {
    await openUser('root');
    expect(await page.getByRole('link', { name: 'Disable account' }).count()).to.equal(0);
    expect(await page.getByRole('link', { name: 'Delete user' }).count()).to.equal(0);
    expect(await page.getByRole('button', { name: 'New set-password link' }).count(), 'nor a link for their own account').to.equal(0);
    expect(await page.getByRole('link', { name: 'account page' }).getAttribute('href')).to.equal('/account');
    const ownLink = await postForm(page, `${server.url}${USERS}/${rootId}/password-link`, { _csrf: await page.locator('input[name="_csrf"]').first().inputValue() });
    expect(ownLink.status).to.equal(400);
    for (const step of ['disable', 'delete', 'admin/remove', 'password/clear']) {
      const refused = await page.goto(`${server.url}${USERS}/${rootId}/${step}`);
      expect(refused?.status(), step).to.equal(400);
      expect(await page.locator('main').textContent()).to.contain('own account here');
    }
    expect((await server.services.accounts.get(rootId)).isAdmin).to.equal(true);
  });

  it('reaches the main actions with the keyboard', async function () {
    await page.goto(`${server.url}${USERS}`);
    const reached = new Set<string>();
    for (let n = 0; n < 40; n++) {
      await page.keyboard.press('Tab');
      const [text, name] = (await page.evaluate('[document.activeElement?.textContent ?? "", document.activeElement?.getAttribute("name") ?? ""]')) as [string, string];
      reached.add(name || text.trim());
    }
    const firstUser = (await page.locator('tbody td[data-label="Username"] a').first().textContent()) as string;
    expect([...reached]).to.include.members(['search', 'Search', 'New user', firstUser]);
  });

  it('refuses non-admins with a 403 page', async function () {
    await addAccount(server, 'plain');
    const other = await browser.newContext();
    const plainPage = await other.newPage();
    await signInToWeb(plainPage, server, 'plain');
    const response = await plainPage.goto(`${server.url}${USERS}`);
    expect(response?.status()).to.equal(403);
    expect(await plainPage.locator('h1').textContent()).to.contain('For admins only');
    await other.close();
  });
});

for (const backend of ['postgres', 'postgres+redis'] as Backend[]) {
  describe(`the admin console: users, on ${backend}`, function () {
    let server: TestServer;
    let browser: Browser;

    before(async function () {
      ({ server, browser } = await consoleDeployment(backend));
    });
    after(() => closeDeployment(server, browser));

    it('lists, creates (the link shown again on a reload), shows and disables a user', async function () {
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, USERS);
      await page.goto(`${server.url}${USERS}/new`);
      await page.getByLabel('Username').fill('pat');
      await page.getByLabel('Password').fill('a long enough password for pat');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create user' }).click()]);
      expect(await page.locator('h1').textContent()).to.equal('pat');
      await page.goto(`${server.url}${USERS}?search=PA`);
      expect(await page.locator('tbody td[data-label="Username"]').allTextContents()).to.deep.equal(['pat']);

      await page.goto(`${server.url}${USERS}/new`);
      await page.getByLabel('Username').fill('quinn');
      await Promise.all([page.waitForURL(LINK_PAGE), page.getByRole('button', { name: 'Create user' }).click()]);
      const link = await page.getByLabel('Set-password link').inputValue();
      expect(link).to.contain('/set-password?token=');
      await page.reload();
      expect(await page.getByLabel('Set-password link').inputValue(), 'a reload shows the same link').to.equal(link);
      const quinn = (await server.services.accounts.findByUsername('quinn'))!;
      await page.goto(`${server.url}${USERS}/${quinn.id}/disable`);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Disable account' }).click()]);
      expect((await server.services.accounts.get(quinn.id)).disabled).to.equal(true);
    });
  });
}

// The chain, with an 11-minute-old admin session: a set-password link for one's own account, a new password
// through it, a fresh sign-in with that, a user deleted. And its neighbours: whatever hands out a way into an account
// asks for the password first. Over HTTP (the console works without JavaScript), on every store.
for (const backend of BACKENDS) {
  describe(`the admin console: ways into an account need a fresh sign-in, on ${backend}`, function () {
    const STALE_SECONDS = 11 * 60;
    let server: TestServer;
    let rootId: string;

    before(async function () {
      expect(STALE_SECONDS).to.be.greaterThan(FRESH_SIGN_IN_SECONDS);
      server = await startTestServer(backend);
      rootId = (await addAccount(server, 'root', { isAdmin: true })).id;
    });
    after(() => server?.close());

    /** root signed in to the console in a browser of its own. */
    async function rootConsole(): Promise<BrowserAgent> {
      const agent = new BrowserAgent();
      const back = await agent.signIn(await agent.open(`${server.url}${USERS}`), 'root', PASSWORD);
      expect(back.url).to.equal(`${server.url}${USERS}`);
      return agent;
    }

    /** Posts a console form as the user page would (its CSRF token), following redirects to the page it ends on. */
    async function post(agent: BrowserAgent, path: string, fields: Record<string, string> = {}): Promise<Page> {
      const { _csrf = '' } = hiddenInputs((await agent.open(`${server.url}${USERS}/${rootId}`)).body);
      return agent.open(`${server.url}${path}`, { form: { ...fields, _csrf } });
    }

    function asksForPassword(page: Page): boolean {
      return page.status === 200 && page.url.includes('/interaction/') && page.body.includes('name="password"');
    }

    function linksOf(accountId: string): Promise<number> {
      return server.services.dataSource.getRepository(PasswordLinkEntity).countBy({ accountId });
    }

    it("cannot make itself a way in: no link for one's own account, stale or fresh, and nobody is deleted", async function () {
      const agent = await rootConsole();
      const doomed = await addAccount(server, 'chain-doomed');
      await ageSignIn(server, rootId, STALE_SECONDS);
      const stale = await post(agent, `${USERS}/${rootId}/password-link`);
      expect(asksForPassword(stale), 'the link asks for the password first').to.equal(true);
      expect(await linksOf(rootId)).to.equal(0);
      await agent.signIn(stale, 'root', PASSWORD);
      const fresh = await post(agent, `${USERS}/${rootId}/password-link`);
      expect(fresh.status).to.equal(400);
      expect(fresh.body).to.match(/cannot make a set-password link for your own account: change your password on your account page, with the current one/i);
      expect(await linksOf(rootId)).to.equal(0);
      await ageSignIn(server, rootId, STALE_SECONDS);
      expect(asksForPassword(await post(agent, `${USERS}/${doomed.id}/delete`))).to.equal(true);
      expect(await server.services.accounts.find(doomed.id)).to.not.equal(null);
      expect(await server.services.authenticator.signIn('root', PASSWORD)).to.include({ ok: true });
      expect(await auditActions(server, rootId)).to.not.include('account.password_link_issued');
    });

    it('asks a stale session for the password before a link, a cleared password, a new user or a new admin', async function () {
      const agent = await rootConsole();
      const bob = await addAccount(server, 'stale-bob');
      await ageSignIn(server, rootId, STALE_SECONDS);
      const attempts: [string, Record<string, string>][] = [
        [`${USERS}/${bob.id}/password-link`, {}],
        [`${USERS}/${bob.id}/password/clear`, {}],
        [`${USERS}/${bob.id}/admin`, {}],
        [USERS, { username: 'made-when-stale', password: 'a long enough password', isAdmin: 'on' }],
      ];
      for (const [path, fields] of attempts) expect(asksForPassword(await post(agent, path, fields)), path).to.equal(true);
      for (const path of [`${USERS}/new`, `${USERS}/${bob.id}/password/clear`]) {
        expect(asksForPassword(await agent.open(`${server.url}${path}`)), path).to.equal(true);
      }
      expect(await linksOf(bob.id)).to.equal(0);
      expect(await server.services.accounts.hasPassword(bob.id)).to.equal(true);
      expect((await server.services.accounts.get(bob.id)).isAdmin).to.equal(false);
      expect(await server.services.accounts.findByUsername('made-when-stale')).to.equal(null);
      expect(await auditActions(server, bob.id), 'nothing done to bob').to.deep.equal([]);
    });

    it("makes a link for someone else's account after a fresh sign-in: it works on an account with a password, and signs it out", async function () {
      const agent = await rootConsole();
      const bob = await addAccount(server, 'reset-bob');
      const instance = await addInstance(server);
      const bobSignedIn = await codeFlow(instance.client, { username: 'reset-bob' });
      await ageSignIn(server, rootId, STALE_SECONDS);
      await agent.signIn(await post(agent, `${USERS}/${bob.id}/password-link`), 'root', PASSWORD);
      const shown = await post(agent, `${USERS}/${bob.id}/password-link`);
      expect(shown.status).to.equal(200);
      const url = /value="([^"]*\/set-password\?token=[\w-]+)"/.exec(shown.body)?.[1] as string;
      expect(url, 'the link on the page').to.be.a('string');
      const linkHolder = new BrowserAgent();
      const opened = await linkHolder.open(url);
      const done = await linkHolder.open(new URL(formAction(opened.body), opened.url).toString(), {
        form: { ...hiddenInputs(opened.body), password: 'bob chose a new one', confirm: 'bob chose a new one' },
      });
      expect(done.body).to.contain('Your password is set');
      expect((await openLoginPage(instance.client, bobSignedIn.agent)).page.body, "bob's browser is signed out").to.contain('name="password"');
      const { page, agent: bobAgain } = await openLoginPage(instance.client);
      const signedIn = await bobAgain.signIn(page, 'reset-bob', 'bob chose a new one', REDIRECT_URI);
      expect(signedIn.status).to.equal(0);
      expect(await auditActions(server, bob.id)).to.include.members(['account.password_link_issued', 'account.password_set']);
    });
  });
}
