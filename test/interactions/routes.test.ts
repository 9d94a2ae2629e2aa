import { expect } from 'chai';
import bcrypt from 'bcryptjs';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, codeFlow, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { formAction } from '../support/browser-agent.js';

describe('sign-in and consent pages', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite', { MAX_LOGIN_ATTEMPTS: '3', LOCKOUT_DURATION: '300' });
  });
  after(() => server.close());

  it('shows the login page again with a generic error, and issues no code, for a wrong password', async function () {
    await addAccount(server, 'dave');
    const { client } = await addInstance(server);
    const { page, agent } = await openLoginPage(client);
    expect(page.body).to.contain('name="username"').and.contain('name="password"');
    const again = await agent.signIn(page, 'dave', 'wrong password', REDIRECT_URI);
    expect(again.status).to.equal(200);
    expect(again.url).to.not.contain('code=');
    expect(again.body).to.contain('Invalid username or password.').and.contain('value="dave"');
    const unknown = await agent.signIn(again, 'nobody', 'wrong password', REDIRECT_URI);
    expect(unknown.body).to.contain('Invalid username or password.');
    const events = await server.services.audit.recent(5);
    expect(events.filter((event) => event.action === 'login' && event.outcome === 'failure')).to.have.length.of.at.least(2);
  });

  it('answers 400, not 500, for a sign-in form that claims a Content-Encoding it does not have', async function () {
    const { client } = await addInstance(server);
    const { page, agent } = await openLoginPage(client);
    const action = new URL(formAction(page.body), page.url).toString();
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const response = await fetch(action, {
        method: 'POST',
        headers: {
          cookie: await agent.jar.getCookieString(action),
          'content-type': 'application/x-www-form-urlencoded',
          'content-encoding': encoding,
          accept: 'text/html',
        },
        body: 'username=dave&password=x',
      });
      expect(response.status, encoding).to.equal(400);
      expect(await response.text()).to.contain('the form could not be read');
    }
  });

  it('locks an account after MAX_LOGIN_ATTEMPTS failures: even the right password is refused then', async function () {
    const account = await addAccount(server, 'erin');
    const { client } = await addInstance(server);
    const { agent, page: first } = await openLoginPage(client);
    let page = first;
    for (let attempt = 0; attempt < 3; attempt++) page = await agent.signIn(page, 'erin', 'wrong', REDIRECT_URI);
    const locked = await agent.signIn(page, 'erin', PASSWORD, REDIRECT_URI);
    expect(locked.status, 'no redirect to the instance').to.equal(200);
    expect(locked.body).to.contain('Invalid username or password.');
    expect((await server.services.accounts.get(account.id)).lockedUntil).to.be.an.instanceOf(Date);
  });

  it('accepts an imported bcrypt hash and upgrades it to argon2id', async function () {
    const { accounts } = server.services;
    const account = await accounts.create({ username: 'frank', passwordHash: await bcrypt.hash(PASSWORD, 4) });
    const { client } = await addInstance(server);
    const { tokens } = await codeFlow(client, { username: 'frank' });
    expect(tokens.claims()?.sub).to.equal(account.id);
    const stored = await accounts.findForLogin('frank');
    expect(stored?.passwordHash).to.match(/^\$argon2id\$/);
  });

  it('refuses an account that has no password yet', async function () {
    await server.services.accounts.create({ username: 'gina', passwordHash: null });
    const { client } = await addInstance(server);
    const { page, agent } = await openLoginPage(client);
    const again = await agent.signIn(page, 'gina', '', REDIRECT_URI);
    expect(again.body).to.contain('Invalid username or password.');
  });

  it('asks for consent on an instance that is not first-party, and honours Allow', async function () {
    await addAccount(server, 'hank');
    const { client } = await addInstance(server, { skipConsent: false, name: 'Third party' });
    const { page, agent } = await openLoginPage(client);
    const consent = await agent.signIn(page, 'hank', PASSWORD, REDIRECT_URI);
    expect(consent.body).to.contain('Third party').and.contain('hank');
    const done = await agent.open(new URL(formAction(consent.body), consent.url).toString(), { form: {} }, REDIRECT_URI);
    expect(new URL(done.url).searchParams.get('code')).to.be.a('string');
  });

  it('answers the sign-in and consent pages with Cache-Control: no-store', async function () {
    await addAccount(server, 'jill');
    const { client } = await addInstance(server, { skipConsent: false, name: 'Third party (headers)' });
    const { page, agent } = await openLoginPage(client);
    const headersOf = async (url: string) => (await fetch(url, { headers: { cookie: await agent.jar.getCookieString(url) } })).headers;
    expect((await headersOf(page.url)).get('cache-control'), 'sign-in page').to.equal('no-store');
    const consent = await agent.signIn(page, 'jill', PASSWORD, REDIRECT_URI);
    expect(consent.body).to.contain('Third party');
    expect((await headersOf(consent.url)).get('cache-control'), 'consent page').to.equal('no-store');
  });

  it('sends access_denied back to the instance when the user cancels', async function () {
    const { client } = await addInstance(server);
    const { page, agent } = await openLoginPage(client);
    const abort = /href="([^"]*\/abort)"/.exec(page.body)?.[1];
    const done = await agent.open(new URL(abort!, page.url).toString(), {}, REDIRECT_URI);
    expect(new URL(done.url).searchParams.get('error')).to.equal('access_denied');
  });

  it('keeps users out of an invite-only instance they were not given access to', async function () {
    const account = await addAccount(server, 'ivy');
    const { instance, client } = await addInstance(server, { accessPolicy: 'invite' });
    const { page, agent } = await openLoginPage(client);
    const denied = await agent.signIn(page, 'ivy', PASSWORD, REDIRECT_URI);
    expect(new URL(denied.url).searchParams.get('error')).to.equal('access_denied');

    await server.services.instances.grantAccess(instance.id, account.id, 'admin', 42);
    const { tokens } = await codeFlow(client, { username: 'ivy' });
    expect(tokens.claims()).to.include({ chillfi3_role: 'admin', chillfi3_user_id: 42 });
  });

  it('rate-limits sign-in attempts per address', async function () {
    const limited = await startTestServer('sqlite', { LOGIN_RATE_LIMIT: '2' });
    try {
      const { client } = await addInstance(limited);
      const { agent, page: first } = await openLoginPage(client);
      let page = await agent.signIn(first, 'x', 'y', REDIRECT_URI);
      page = await agent.signIn(page, 'x', 'y', REDIRECT_URI);
      const blocked = await agent.signIn(page, 'x', 'y', REDIRECT_URI);
      expect(blocked.status).to.equal(429);
      expect(blocked.body).to.contain('Too many');
    } finally {
      await limited.close();
    }
  });
});
