// The account page (/account) in Chromium: profile, password, the servers one can use, sessions (one, everywhere),
// recent sign-ins; keyboard navigation, axe and screenshots.
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { addAccount, addInstance, PASSWORD } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { expectAccessible, screenshots, signInToWeb } from '../support/web.js';

const NEW_PASSWORD = 'a much longer new passphrase';

describe('web: the account page', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let erinId: string;

  before(async function () {
    [server, browser] = await Promise.all([startTestServer('sqlite'), launchChromium()]);
    await addAccount(server, 'root', { isAdmin: true });
    erinId = (await addAccount(server, 'erin', { email: 'erin@example.org' })).id;
    await addInstance(server, { name: 'Open Jukebox', redirectUris: ['https://jukebox.example/callback'] });
    const invite = await addInstance(server, { name: 'Family Music', redirectUris: ['https://family.example:8443/auth/callback'], accessPolicy: 'invite' });
    await server.services.instances.grantAccess(invite.instance.id, erinId, 'admin');
    await addInstance(server, { name: 'Closed Club', redirectUris: ['https://closed.example/callback'], accessPolicy: 'invite' });
    await addInstance(server, { name: 'Service Only', redirectUris: [], grantTypes: ['client_credentials'] });
    // One failed sign-in for the activity list.
    const failing = await browser.newPage();
    await failing.goto(`${server.url}/account`);
    await failing.fill('input[name="username"]', 'erin');
    await failing.fill('input[name="password"]', 'not the password');
    await failing.click('button:has-text("Sign in")');
    await failing.close();

    context = await browser.newContext();
    page = await context.newPage();
    await signInToWeb(page, server, 'erin');
  });
  after(async function () {
    await browser?.close();
    await server?.close();
  });

  it('shows the profile, the servers erin can use, her session and her sign-ins; accessible; screenshots', async function () {
    expect(await page.textContent('h1')).to.equal('Your account');
    expect(await page.inputValue('#displayName')).to.equal('erin display');
    expect(await page.inputValue('#email')).to.equal('erin@example.org');
    const servers = await page.locator('.instance-list a').evaluateAll((links) =>
      links.map((link) => ({ name: link.textContent?.trim(), href: link.getAttribute('href') })),
    );
    expect(servers).to.have.deep.members([
      { name: 'Open Jukebox', href: 'https://jukebox.example' },
      { name: 'Family Music', href: 'https://family.example:8443' },
    ]);
    expect(await page.locator('.sessions-table tbody tr').count()).to.equal(1);
    expect(await page.textContent('.sessions-table tbody tr')).to.include('this browser').and.include('your ChillFi3 account');
    const activity = await page.locator('.activity-table tbody tr').allTextContents();
    expect(activity).to.have.length(2);
    expect(activity[0]).to.include('signed in');
    expect(activity[1]).to.include('refused').and.include('wrong username or password');
    expect(await page.getAttribute('.top-nav a[href="/account"]', 'aria-current')).to.equal('page');
    expect(await page.locator('.top-nav a:has-text("Admin")').count(), 'no Admin link for a non-admin').to.equal(0);
    await expectAccessible(page, '/account');
    await screenshots(page, 'account');
  });

  it('reaches the main actions in order with Tab, each with a visible focus', async function () {
    await page.goto(`${server.url}/account`);
    const order: string[] = [];
    for (let i = 0; i < 18; i++) {
      await page.keyboard.press('Tab');
      order.push(
        await page.evaluate(() => {
          interface Element {
            id: string;
            textContent: string | null;
            tagName: string;
            getAttribute(name: string): string | null;
          }
          const { document } = globalThis as unknown as { document: { activeElement: Element; getElementById(id: string): Element | null } };
          const element = document.activeElement;
          // A scrolling table's region, by the heading that names it.
          if (element.getAttribute('role') === 'region') return `region:${document.getElementById(element.getAttribute('aria-labelledby') ?? '')?.textContent ?? ''}`;
          return element.id || `${element.tagName.toLowerCase()}:${element.textContent?.trim() ?? ''}`;
        }),
      );
      const focusVisible = await page.evaluate(() => {
        const g = globalThis as unknown as { document: { activeElement: object }; getComputedStyle(e: object): { outlineStyle: string; boxShadow: string } };
        const style = g.getComputedStyle(g.document.activeElement);
        return style.outlineStyle !== 'none' || style.boxShadow !== 'none';
      });
      expect(focusVisible, `focus visible on ${order.at(-1)?.slice(0, 40)} after ${order.slice(0, -1).join(', ')}`).to.equal(true);
    }
    expect(order).to.deep.equal([
      'a:Skip to content',
      'a:Account',
      'button:Sign out',
      'displayName',
      'email',
      'bio',
      'picture',
      'button:Save profile',
      'current',
      'password',
      'confirm',
      'button:Change password',
      'a:Set up an authenticator app',
      'a:Open Jukebox',
      'a:Family Music',
      'region:Where you are signed in',
      'button:Sign out this one',
      'a:Sign out everywhere',
    ]);
  });

  it('skips to the content with the skip link', async function () {
    await page.goto(`${server.url}/account`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).to.equal('displayName');
  });

  it('saves the profile, and shows a refused value on the form with what was typed', async function () {
    await page.fill('#displayName', 'Erin Example');
    await page.fill('#email', 'erin@music.example');
    await page.fill('#bio', 'Listens to everything.');
    await page.fill('#picture', 'https://pictures.example/erin.png');
    await page.click('button:has-text("Save profile")');
    expect(await page.textContent('.notice-ok')).to.equal('Your profile is saved.');
    expect(await server.services.accounts.get(erinId)).to.include({
      displayName: 'Erin Example',
      email: 'erin@music.example',
      bio: 'Listens to everything.',
      picture: 'https://pictures.example/erin.png',
    });
    const [audited] = (await server.services.audit.query({ actions: ['account.profile_updated'] })).events;
    expect(audited?.details).to.include({ via: 'web', by: erinId });

    await page.fill('#displayName', 'Erin Again');
    await page.fill('#picture', 'ftp://pictures.example/erin.png');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button:has-text("Save profile")')]);
    expect(response.status()).to.equal(400);
    expect(await page.textContent('#picture-error')).to.match(/^Picture must be an http or https URL/);
    expect(await page.getAttribute('#picture', 'aria-invalid')).to.equal('true');
    expect(await page.getAttribute('#picture', 'aria-describedby'), 'its error, then its hint').to.equal('picture-error picture-hint');
    expect(await page.getAttribute('#displayName', 'aria-invalid'), 'a good field is not marked').to.equal(null);
    expect(await page.inputValue('#displayName')).to.equal('Erin Again');

    // Every problem at once, in the form's words.
    await page.$eval('form[action="/account/profile"]', (form) => ((form as unknown as { noValidate: boolean }).noValidate = true));
    await page.$eval('#displayName', (input) => input.removeAttribute('maxlength'));
    await page.fill('#displayName', 'e'.repeat(150));
    await page.fill('#email', 'not an address');
    const [several] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button:has-text("Save profile")')]);
    expect(several.status()).to.equal(400);
    expect(await page.textContent('#displayName-error')).to.equal('At most 100 characters.');
    expect(await page.textContent('#email-error')).to.not.equal(null);
    expect(await page.textContent('#picture-error')).to.match(/^Picture must be an http or https URL/);
    expect(await page.textContent('#profile-error')).to.equal('3 fields need a change: each problem is said under its field.');
    await expectAccessible(page, 'the account page with a problem under each profile field');
    await screenshots(page, 'account-problems');
    expect((await server.services.accounts.get(erinId)).displayName).to.equal('Erin Example');

    // Blank fields clear what they hold.
    await page.goto(`${server.url}/account`);
    await page.fill('#bio', '');
    await page.click('button:has-text("Save profile")');
    expect((await server.services.accounts.get(erinId)).bio).to.equal(null);
  });

  it('changes the password: the current one, the policy and a mismatch are said under their fields; then it signs in', async function () {
    /** What is said under each field of the password form after sending it (only the fields with a problem). */
    async function submit(current: string, password: string, confirm: string): Promise<Record<string, string>> {
      await page.goto(`${server.url}/account`);
      await page.fill('#current', current);
      await page.fill('#password', password);
      await page.fill('#confirm', confirm);
      // The browser's own minlength check would stop a short one: the server's answer is what is tested.
      await page.$eval('#password', (input) => input.removeAttribute('minlength'));
      await page.click('button:has-text("Change password")');
      const said: Record<string, string> = {};
      for (const id of ['current', 'password', 'confirm']) {
        if (!(await page.locator(`#${id}-error`).count())) continue;
        expect(await page.getAttribute(`#${id}`, 'aria-invalid')).to.equal('true');
        expect(await page.getAttribute(`#${id}`, 'aria-describedby')).to.match(new RegExp(`^${id}-error( |$)`));
        said[id] = (await page.textContent(`#${id}-error`)) ?? '';
      }
      return said;
    }
    expect(await submit('not it', NEW_PASSWORD, NEW_PASSWORD)).to.deep.equal({ current: 'The current password is not right.' });
    const both = await submit(PASSWORD, 'short', 'shorter');
    expect(both.password).to.match(/^The password must be at least \d+ characters long\.$/);
    expect(both.confirm, 'both at once').to.equal('Not the same as the password above.');
    await expectAccessible(page, 'the account page with password problems');
    expect(await submit(PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}!`)).to.deep.equal({ confirm: 'Not the same as the password above.' });
    expect(await submit(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)).to.deep.equal({});
    expect(await page.textContent('.notice-ok')).to.match(/^Your password is changed/);

    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto(`${server.url}/account`);
    await otherPage.fill('input[name="username"]', 'erin');
    await otherPage.fill('input[name="password"]', PASSWORD);
    await otherPage.click('button:has-text("Sign in")');
    expect(await otherPage.textContent('.alert-error'), 'the old password is refused').to.include('Invalid username or password');
    await signInToWeb(otherPage, server, 'erin', NEW_PASSWORD);
    await other.close();
  });

  it('signs out one session from another browser', async function () {
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await signInToWeb(otherPage, server, 'erin', NEW_PASSWORD);
    await page.goto(`${server.url}/account`);
    const rows = page.locator('.sessions-table tbody tr');
    const before = await rows.count();
    expect(before).to.be.greaterThanOrEqual(2);
    await rows.filter({ hasNotText: 'this browser' }).first().locator('button:has-text("Sign out this one")').click();
    expect(await page.textContent('.notice-ok')).to.match(/^That session is signed out/);
    expect(await page.locator('.sessions-table tbody tr').count()).to.equal(before - 1);

    await otherPage.reload();
    expect(await otherPage.textContent('h1'), 'the other browser is signed out').to.equal('Sign in');
    await other.close();
  });

  it('signs out everywhere after a confirmation', async function () {
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await signInToWeb(otherPage, server, 'erin', NEW_PASSWORD);
    await page.goto(`${server.url}/account`);
    await page.click('a:has-text("Sign out everywhere")');
    expect(await page.textContent('h1')).to.equal('Sign out everywhere?');
    await expectAccessible(page, 'sign out everywhere confirmation');
    await page.click('main button:has-text("Sign out everywhere")');
    expect(await page.textContent('h1')).to.equal('Sign in');
    expect(await server.services.accountSessions.list(erinId)).to.deep.equal([]);
    await otherPage.reload();
    expect(await otherPage.textContent('h1')).to.equal('Sign in');
    await other.close();
    const [ended] = (await server.services.audit.query({ actions: ['sessions.ended'], accountId: erinId })).events;
    expect(ended?.details).to.include({ via: 'web' });
  });
});
