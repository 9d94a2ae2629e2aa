import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_CONSOLE_PREFIX } from '../../src/web/page.js';
import { FRESH_SIGN_IN_SECONDS } from '../../src/web/web-session.js';
import { addAccount, addInstance, codeFlow, PASSWORD } from '../support/fixtures.js';
import type { Backend, TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';
import { ageSignIn, closeDeployment, consoleDeployment, expireResult, postForm, problemUnder, submitUnchecked } from '../support/console.js';

const INSTANCES = `${ADMIN_CONSOLE_PREFIX}/instances`;
/** The page a new secret is shown on: the instance's, under the id of the kept result (src/web/one-time-results.ts). */
const SECRET_PAGE = new RegExp(`${INSTANCES}/[\\w-]+/secret/[\\w-]{22}$`);

describe('the console: instances', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let rootId: string;

  before(async function () {
    ({ server, browser, rootId } = await consoleDeployment('sqlite'));
    await addAccount(server, 'jules');
    page = await browser.newPage();
    await signInToWeb(page, server, 'root', PASSWORD, INSTANCES);
  });
  after(() => closeDeployment(server, browser));

  /** The newest audit entries of this action. */
  async function auditEntries(action: string) {
    return (await server.services.audit.query({ actions: [action], limit: 10 })).events;
  }

  /** Unfolds the form's "Advanced" settings, where the URIs, scopes and the rest of what most servers keep live. */
  async function openAdvanced(): Promise<void> {
    if ((await page.locator('#instance-advanced').getAttribute('open')) === null) await page.locator('#instance-advanced > summary').click();
  }

  /** On the sign-in page a stale sign-in was sent to: the password again, then back to `url`. */
  async function signInAgain(url: string): Promise<void> {
    expect(await page.getByLabel('Password').count(), 'the sign-in page asks for the password').to.equal(1);
    await page.fill('input[name="username"]', 'root');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(url), page.click('button:has-text("Sign in")')]);
  }

  it('registers an instance: a bad form comes back with its values, then the secret is shown once with the .env block', async function () {
    await expectAccessible(page, 'the instance list');
    await screenshots(page, 'admin-instances');
    await page.getByRole('link', { name: 'Register an instance' }).click();
    await expectAccessible(page, 'the register form');
    await screenshots(page, 'admin-instances-new');

    // Made for ChillFi3: the three grants it uses ticked, the settings most servers keep folded away.
    for (const grantType of ['authorization_code', 'refresh_token', 'client_credentials']) {
      expect(await page.getByLabel(grantType).isChecked(), `${grantType} ticked on a new instance`).to.equal(true);
    }
    expect(await page.locator('#instance-advanced').getAttribute('open'), 'Advanced folded on a new instance').to.equal(null);
    expect(await page.getByLabel('Redirect URIs', { exact: true }).isVisible()).to.equal(false);

    // Every problem at once, each under its field, in the form's words; a pasted page is quoted back short.
    const pasted = `https://music.example.com/${'x'.repeat(3000)}`;
    await openAdvanced();
    await page.getByLabel('Redirect URIs', { exact: true }).fill(`${pasted}\nmusic.example.com/auth/callback`);
    await page.getByLabel('Rate limit').fill('many');
    const refused = await submitUnchecked(page, 'Register instance');
    expect(refused.status()).to.equal(400);
    expect(await problemUnder(page, 'Name')).to.equal('Required.');
    const uriProblem = await problemUnder(page, 'Redirect URIs');
    expect(uriProblem).to.contain('Line 1: at most 2048 characters.').and.contain('Line 2: "music.example.com/auth/callback" is not an absolute URL.');
    expect(uriProblem, 'no zod wording').to.not.match(/Too big|expected string|RedirectUris\.0/);
    expect(await problemUnder(page, 'Rate limit')).to.equal('A whole number, or empty.');
    expect(await page.getByRole('alert').textContent()).to.equal('3 fields need a change: each problem is said under its field.');
    expect((await page.locator('.field-error, .alert').allTextContents()).join(' '), 'the 3000 characters are not quoted back').to.not.contain('x'.repeat(100));
    expect(await page.getByLabel('Redirect URIs', { exact: true }).inputValue(), 'the field keeps what was typed').to.contain(pasted);
    expect(await page.getByLabel('Post-logout redirect URIs').getAttribute('aria-invalid'), 'a good field is not marked').to.equal(null);
    expect(await page.locator('#instance-advanced').getAttribute('open'), 'Advanced unfolded: its fields have problems').to.equal('');
    await expectAccessible(page, 'the register form with a problem under each field');
    await screenshots(page, 'admin-instances-new-problems');

    // A problem of no one field (signing users in needs somewhere to return to) stays above the fields.
    await page.getByLabel('Name').fill('Living room');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('');
    await page.getByLabel('Rate limit').fill('');
    const refusedByStore = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Register instance' }).click()]);
    expect(refusedByStore[0].status(), 'signing users in needs a redirect URI').to.equal(400);
    expect(await page.getByRole('alert').textContent()).to.equal('An instance that signs users in needs at least one redirect URI.');
    expect(await page.getByLabel('Name').inputValue()).to.equal('Living room');

    // The ChillFi3 address alone: the three URIs the SDK answers on are made from it.
    await page.getByLabel('ChillFi3 address').fill('https://music.example.com/');
    await page.getByLabel('Invite only').check();
    await openAdvanced();
    await page.getByLabel('IP allowlist').fill('10.0.0.0/8');
    await page.getByLabel('Rate limit').fill('600');
    await page.getByLabel(/Skip consent/).check();
    const [answer] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Register instance' }).click()]);
    expect(answer.status(), 'the form is answered with a redirect to the secret page').to.equal(303);
    await page.waitForLoadState();
    expect(page.url()).to.match(SECRET_PAGE);

    const clientId = (await page.locator('#client-id').textContent()) as string;
    const secret = (await page.locator('#client-secret').textContent()) as string;
    const stored = await server.services.instances.findWithSecret(clientId);
    expect(stored?.clientSecret).to.equal(secret);
    expect(stored?.instance).to.include({ name: 'Living room', accessPolicy: 'invite', rateLimit: 600, skipConsent: true, backchannelLogoutUri: 'https://music.example.com/auth/backchannel-logout' });
    expect(stored?.instance.redirectUris).to.deep.equal(['https://music.example.com/auth/callback']);
    expect(stored?.instance.postLogoutRedirectUris).to.deep.equal(['https://music.example.com/']);
    expect(stored?.instance.grantTypes).to.have.members(['authorization_code', 'refresh_token', 'client_credentials']);
    expect(await page.locator('.notice-warning').count(), 'https: nothing to warn of').to.equal(0);
    expect(stored?.instance.ipAllowlist).to.deep.equal(['10.0.0.0/8']);
    expect(await page.locator('#env-block').textContent()).to.equal(
      [
        `AUTH_SERVER_URL=${server.issuer}`,
        `AUTH_API_KEY=${clientId}`,
        `AUTH_API_SECRET=${secret}`,
        '# the rollout switch (docs/chillfi3.md): false keeps its own tokens; true signs in here,',
        '# its old tokens accepted while AUTH_LEGACY_TOKENS allows (on, or until a date)',
        'USE_REMOTE_AUTH=true',
        '# optional',
        'AUTH_CACHE_TTL=300',
        'AUTH_TIMEOUT=5000',
        'AUTH_REVOCATION_STREAM=on',
      ].join('\n'),
    );
    const [created] = await auditEntries('instance.created');
    expect(created).to.include({ instanceId: stored?.instance.id, outcome: 'success' });
    expect(created?.details).to.include({ by: rootId, via: 'web', name: 'Living room' });
    expect(JSON.stringify(created), 'never the secret in the trail').to.not.contain(secret);
    await expectAccessible(page, 'the secret page');
    const envBlock = page.getByRole('region', { name: 'Lines for server/.env' });
    expect(await envBlock.getAttribute('id'), 'the .env block is named for screen readers').to.equal('env-block');
    expect(await envBlock.getAttribute('tabindex'), 'and reached by keyboard when it scrolls').to.equal('0');
    await screenshots(page, 'admin-instances-secret');

    // Never again: the instance page does not show it.
    await page.getByRole('link', { name: /go to the instance/ }).click();
    expect(await page.content()).to.not.contain(secret);
    expect(await page.getByRole('link', { name: 'Access' }).getAttribute('href')).to.equal(`${INSTANCES}/${stored?.instance.id}/access`);
  });

  it('reloading the "registered" page shows the same secret and registers nothing; sending the form again is refused under the Name field', async function () {
    const registered = async () => (await server.services.instances.list()).filter((instance) => instance.name === 'Reloaded');
    await page.goto(`${server.url}${INSTANCES}/new`);
    await page.getByLabel('Name').fill('Reloaded');
    await openAdvanced();
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://reload.example.com/cb');
    await Promise.all([page.waitForURL(SECRET_PAGE), page.getByRole('button', { name: 'Register instance' }).click()]);
    const secretUrl = page.url();
    const secret = (await page.locator('#client-secret').textContent()) as string;
    expect(await registered()).to.have.length(1);

    const reloaded = await page.reload();
    expect(reloaded?.status()).to.equal(200);
    expect(reloaded?.headers()['cache-control']).to.equal('no-store');
    expect(page.url()).to.equal(secretUrl);
    expect(await page.locator('#client-secret').textContent(), 'the same secret, not a new registration').to.equal(secret);
    expect(await registered()).to.have.length(1);

    // Back to the form and sent again, as it was: the name is taken, said under its field.
    await page.goBack();
    expect(page.url()).to.equal(`${server.url}${INSTANCES}/new`);
    await page.getByLabel('Name').fill(' reloaded ');
    await openAdvanced();
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://reload.example.com/cb');
    const [again] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Register instance' }).click()]);
    expect(again.status()).to.equal(409);
    expect(await problemUnder(page, 'Name')).to.contain('An instance named "Reloaded" exists already');
    expect(await page.getByLabel('Name').inputValue()).to.equal(' reloaded ');
    await expectAccessible(page, 'the register form with a taken name');
    await screenshots(page, 'admin-instances-name-taken');
    expect(await registered()).to.have.length(1);

    // Another session (even the same admin's) does not see it.
    const other = await browser.newPage();
    await signInToWeb(other, server, 'root', PASSWORD, INSTANCES);
    const elsewhere = await other.goto(secretUrl);
    expect(elsewhere?.status()).to.equal(410);
    expect(await other.content()).to.not.contain(secret);
    await other.close();

    // Once its time is up, a clear page says so, and the secret is nowhere.
    await expireResult(server, secretUrl);
    const gone = await page.goto(secretUrl);
    expect(gone?.status()).to.equal(410);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Shown once');
    expect(await page.content()).to.not.contain(secret);
    await expectAccessible(page, 'the shown-once page');
    await screenshots(page, 'admin-shown-once');
    expect(await registered()).to.have.length(1);
  });

  it('edits an instance from the keyboard: Tab reaches the fields, Enter saves, the change is audited', async function () {
    const { instance } = await addInstance(server, { name: 'Kitchen' });
    await page.goto(`${server.url}${INSTANCES}`);
    await page.getByRole('link', { name: 'Kitchen' }).click();
    await expectAccessible(page, 'the instance page');
    await screenshots(page, 'admin-instances-show');

    await page.getByLabel('Name').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Kitchen speaker');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).to.equal('instance-policy-open');
    expect(await page.locator('#instance-advanced').getAttribute('open'), 'an instance\'s settings unfolded on its page').to.equal('');
    await page.getByLabel('Invite only').check();
    await page.getByLabel('Name').focus();
    await Promise.all([page.waitForURL(`${server.url}${INSTANCES}/${instance.id}`), page.keyboard.press('Enter')]);
    expect(await page.getByRole('status').textContent()).to.contain('Kitchen speaker saved');

    const saved = await server.services.instances.get(instance.id);
    expect(saved).to.include({ name: 'Kitchen speaker', accessPolicy: 'invite' });
    const [updated] = await auditEntries('instance.updated');
    expect(updated).to.include({ instanceId: instance.id });
    expect(updated?.details).to.include({ by: rootId, via: 'web' });

    for (const scope of await page.locator('input[name="scopes"]').all()) await scope.uncheck();
    const [noScopes] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Save changes' }).click()]);
    expect(noScopes.status()).to.equal(400);
    expect(await page.locator('#instance-scopes-error').textContent()).to.equal('Tick at least one.');
    expect((await page.getByRole('group', { name: 'Scopes it may ask for' }).getAttribute('aria-describedby')) ?? '').to.contain('instance-scopes-error');
    expect(await page.locator('input[name="scopes"]:checked').count(), 'the boxes stay as they were left').to.equal(0);
    await page.getByLabel('openid').check();

    await page.getByLabel('Name').fill('LIVING ROOM');
    const [taken] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Save changes' }).click()]);
    expect(taken.status(), 'the name of another instance').to.equal(409);
    expect(await problemUnder(page, 'Name')).to.contain('An instance named "Living room" exists already');
    expect((await server.services.instances.get(instance.id)).name).to.equal('Kitchen speaker');
    await page.getByLabel('Name').fill('Kitchen speaker');

    await page.getByLabel('Redirect URIs', { exact: true }).fill('not a url');
    const [refused] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Save changes' }).click()]);
    expect(refused.status()).to.equal(400);
    expect(await problemUnder(page, 'Redirect URIs')).to.equal('Line 1: "not a url" is not an absolute URL.');
    expect(await page.getByLabel('Redirect URIs', { exact: true }).inputValue()).to.equal('not a url');
  });

  it('rotates a secret after a fresh sign-in and a confirmation; the new one is shown once, the old one works through the grace period', async function () {
    const { instance, clientSecret: before } = await addInstance(server, { name: 'Garage' });
    await ageSignIn(server, rootId, FRESH_SIGN_IN_SECONDS + 60);
    await page.goto(`${server.url}${INSTANCES}/${instance.id}`);
    await page.getByRole('link', { name: 'Rotate secret' }).click();
    await signInAgain(`${server.url}${INSTANCES}/${instance.id}/secret`);
    await expectAccessible(page, 'the rotate confirmation');
    await screenshots(page, 'admin-instances-rotate');

    const [answer] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Rotate secret' }).click()]);
    expect(answer.status()).to.equal(303);
    await page.waitForURL(SECRET_PAGE);
    const after = (await page.locator('#client-secret').textContent()) as string;
    expect(after).to.not.equal(before);
    const stored = await server.services.instances.findWithSecret(instance.clientId);
    expect(stored?.clientSecret).to.equal(after);
    expect(stored?.previousSecret?.secret, 'the old secret works through the grace period').to.equal(before);
    expect(await page.getByText('The previous secret works until').count()).to.equal(1);
    await page.reload();
    expect(await page.locator('#client-secret').textContent(), 'a reload shows it again and rotates nothing').to.equal(after);
    expect((await server.services.instances.findWithSecret(instance.clientId))?.clientSecret).to.equal(after);
    expect((await server.services.instances.findWithSecret(instance.clientId))?.previousSecret?.secret).to.equal(before);
    const [rotated] = await auditEntries('instance.secret_rotated');
    expect(rotated).to.include({ instanceId: instance.id });
    expect(rotated?.details).to.include({ by: rootId, via: 'web' });
  });

  it('deletes an instance after a fresh sign-in and a confirmation, ending the sessions signed in to it', async function () {
    const { instance, client } = await addInstance(server, { name: 'Shed' });
    const jules = await server.services.accounts.findByUsername('jules');
    await codeFlow(client, { username: 'jules' });
    expect((await server.services.accountSessions.list(jules!.id)).some((session) => session.clientIds.includes(instance.clientId))).to.equal(true);

    await ageSignIn(server, rootId, FRESH_SIGN_IN_SECONDS + 60);
    await page.goto(`${server.url}${INSTANCES}/${instance.id}`);
    await page.getByRole('link', { name: 'Delete instance' }).click();
    await signInAgain(`${server.url}${INSTANCES}/${instance.id}/delete`);
    await expectAccessible(page, 'the delete confirmation');
    await screenshots(page, 'admin-instances-delete');
    await Promise.all([page.waitForURL(`${server.url}${INSTANCES}`), page.getByRole('button', { name: 'Delete instance' }).click()]);
    expect(await page.getByRole('status').textContent()).to.contain('Shed deleted');

    expect(await server.services.instances.findByClientId(instance.clientId)).to.equal(null);
    expect((await server.services.accountSessions.list(jules!.id)).some((session) => session.clientIds.includes(instance.clientId))).to.equal(false);
    const [deleted] = await auditEntries('instance.deleted');
    expect(deleted).to.include({ instanceId: instance.id });
    expect(deleted?.details).to.include({ by: rootId, via: 'web', client_id: instance.clientId });
    expect(deleted?.details?.sessions).to.be.at.least(1);
  });

  it('registers a public instance without a secret, and shows the secret once when an edit moves it to a secret method', async function () {
    await page.goto(`${server.url}${INSTANCES}/new`);
    await page.getByLabel('Name').fill('Public player');
    // A public client has no secret to get its own service token with.
    await page.getByLabel('client_credentials').uncheck();
    await openAdvanced();
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://player.example.com/callback');
    await page.getByLabel('Token endpoint authentication').selectOption('none');
    await page.getByRole('button', { name: 'Register instance' }).click();
    await page.waitForLoadState();
    expect(await page.locator('#client-secret').count()).to.equal(0);
    const clientId = (await page.locator('#client-id').textContent()) as string;
    expect(await page.locator('#env-block').textContent()).to.contain(`AUTH_API_KEY=${clientId}`).and.not.contain('AUTH_API_SECRET');

    await page.getByRole('link', { name: /go to the instance/ }).click();
    expect(await page.getByRole('link', { name: 'Rotate secret' }).count(), 'nothing to rotate').to.equal(0);
    await page.getByLabel('Token endpoint authentication').selectOption('client_secret_basic');
    const [answer] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: 'Save changes' }).click()]);
    expect(answer.status()).to.equal(303);
    await page.waitForURL(SECRET_PAGE);
    const secret = (await page.locator('#client-secret').textContent()) as string;
    expect((await server.services.instances.findWithSecret(clientId))?.clientSecret).to.equal(secret);
  });

  it('asks again for the password when a stale sign-in posts the delete form, and deletes nothing', async function () {
    const { instance } = await addInstance(server, { name: 'Attic' });
    await page.goto(`${server.url}${INSTANCES}/${instance.id}/delete`);
    await ageSignIn(server, rootId, FRESH_SIGN_IN_SECONDS + 60);
    await page.getByRole('button', { name: 'Delete instance' }).click();
    await page.waitForSelector('input[name="password"]');
    expect(await server.services.instances.findByClientId(instance.clientId)).to.not.equal(null);
    await signInAgain(`${server.url}${INSTANCES}/${instance.id}/delete`);
  });

  it('reaches the list\'s actions with the keyboard', async function () {
    await page.goto(`${server.url}${INSTANCES}`);
    const reached = new Set<string>();
    for (let n = 0; n < 25; n++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent?.trim() ?? ''));
    }
    expect([...reached]).to.include.members(['Register an instance', 'Living room', 'Kitchen speaker']);
  });

  it('makes the URIs from a plain-http ChillFi3 address without JavaScript, and warns of plain http to another machine without refusing it', async function () {
    await page.goto(`${server.url}${INSTANCES}/new`);
    await page.getByLabel('Name').fill('Basement');
    await page.getByLabel('ChillFi3 address').fill('music.lan');
    const refused = await submitUnchecked(page, 'Register instance');
    expect(refused.status()).to.equal(400);
    expect(await problemUnder(page, 'ChillFi3 address')).to.equal('"music.lan" is not an absolute URL.');
    expect(await page.getByLabel('ChillFi3 address').inputValue()).to.equal('music.lan');

    await page.getByLabel('ChillFi3 address').fill('http://music.lan:3000');
    await Promise.all([page.waitForURL(SECRET_PAGE), page.getByRole('button', { name: 'Register instance' }).click()]);
    const clientId = (await page.locator('#client-id').textContent()) as string;
    const stored = (await server.services.instances.findWithSecret(clientId))?.instance;
    expect(stored?.redirectUris).to.deep.equal(['http://music.lan:3000/auth/callback']);
    expect(stored?.postLogoutRedirectUris).to.deep.equal(['http://music.lan:3000/']);
    expect(stored?.backchannelLogoutUri).to.equal('http://music.lan:3000/auth/backchannel-logout');
    const warning = await page.locator('.notice-warning').textContent();
    expect(warning).to.contain('"http://music.lan:3000/auth/callback" uses plain http to another machine');
    await expectAccessible(page, 'the secret page with a plain-http warning');
    await screenshots(page, 'admin-instances-http-warning');

    // The instance's page keeps saying so while it lasts; loopback is not warned of.
    await page.getByRole('link', { name: /go to the instance/ }).click();
    expect(await page.locator('.notice-warning').textContent()).to.equal(warning);
    await page.getByLabel('Redirect URIs', { exact: true }).fill('http://127.0.0.1:3000/auth/callback\nhttp://localhost:3000/auth/callback');
    await Promise.all([page.waitForURL(`${server.url}${INSTANCES}/${stored?.id}`), page.getByRole('button', { name: 'Save changes' }).click()]);
    expect(await page.locator('.notice-warning').count()).to.equal(0);
  });

  it('fills the URIs as the ChillFi3 address is typed (the script the CSP lets run), keeping a URI typed by hand', async function () {
    await page.goto(`${server.url}${INSTANCES}/new`);
    await page.getByLabel('ChillFi3 address').pressSequentially('https://radio.example.com/');
    await openAdvanced();
    expect(await page.getByLabel('Redirect URIs', { exact: true }).inputValue()).to.equal('https://radio.example.com/auth/callback');
    expect(await page.getByLabel('Post-logout redirect URIs').inputValue()).to.equal('https://radio.example.com/');
    expect(await page.getByLabel('Back-channel logout URI').inputValue()).to.equal('https://radio.example.com/auth/backchannel-logout');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://radio.example.com/custom/callback');
    await page.getByLabel('ChillFi3 address').fill('https://fm.example.com');
    await page.getByLabel('ChillFi3 address').dispatchEvent('input');
    expect(await page.getByLabel('Redirect URIs', { exact: true }).inputValue(), 'typed by hand: kept').to.equal('https://radio.example.com/custom/callback');
    expect(await page.getByLabel('Post-logout redirect URIs').inputValue()).to.equal('https://fm.example.com/');
  });

  it('refuses a post without the form check (CSRF), a non-admin (403), and answers an unknown id with the friendly 404', async function () {
    const before = (await server.services.instances.list()).length;
    const forged = await postForm(page, `${server.url}${INSTANCES}`, { _csrf: 'forged', name: 'Forged', redirectUris: 'https://evil.example/cb' });
    expect(forged.status).to.equal(403);
    expect((await server.services.instances.list()).length).to.equal(before);

    const missing = await page.goto(`${server.url}${INSTANCES}/no-such-instance`);
    expect(missing?.status()).to.equal(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.contain('not found');

    const other = await browser.newPage();
    await signInToWeb(other, server, 'jules', PASSWORD, '/account');
    const refused = await other.goto(`${server.url}${INSTANCES}`);
    expect(refused?.status()).to.equal(403);
    await other.close();
  });
});

for (const backend of ['postgres', 'postgres+redis'] as Backend[]) {
  describe(`the console: instances, on ${backend}`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let browser: Browser;

    before(async function () {
      ({ server, browser } = await consoleDeployment(backend));
    });
    after(() => closeDeployment(server, browser));

    it('registers an instance and shows its secret once, again on a reload, registering nothing more', async function () {
      const page = await browser.newPage();
      await signInToWeb(page, server, 'root', PASSWORD, `${INSTANCES}/new`);
      await page.getByLabel('Name').fill('Living room');
      await page.getByLabel('ChillFi3 address').fill('https://music.example.com');
      await Promise.all([page.waitForURL(SECRET_PAGE), page.getByRole('button', { name: 'Register instance' }).click()]);
      const clientId = (await page.locator('#client-id').textContent()) as string;
      const secret = (await page.locator('#client-secret').textContent()) as string;
      const stored = await server.services.instances.findWithSecret(clientId);
      expect(stored?.clientSecret).to.equal(secret);
      expect(stored?.instance.redirectUris, 'made from the ChillFi3 address').to.deep.equal(['https://music.example.com/auth/callback']);
      expect(stored?.instance.grantTypes).to.have.members(['authorization_code', 'refresh_token', 'client_credentials']);
      await page.reload();
      expect(await page.locator('#client-secret').textContent(), 'a reload shows the same secret').to.equal(secret);
      await page.goto(`${server.url}${INSTANCES}`);
      expect(await page.locator('tbody tr').count()).to.equal(1);
    });
  });
}
