import { expect } from 'chai';
import { decodeJwt, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { BrowserAgent, formAction, hiddenInputs } from '../support/browser-agent.js';
import { PASSWORD } from '../support/fixtures.js';
import { AuthError } from '../../src/sdk/index.js';
import { addAccount, countRequests, startTestServer, stopListening, type TestServer } from './support/sdk-server.js';
import { startRegisteredInstance, type RegisteredInstance } from './support/instances.js';

describe('sdk: browser sign-in routes and back-channel logout (example instances)', function () {
  let server: TestServer;
  let a: RegisteredInstance;
  let b: RegisteredInstance;

  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'erin');
    a = await startRegisteredInstance(server, 'Instance A');
    b = await startRegisteredInstance(server, 'Instance B');
  });
  after(async function () {
    await a?.close();
    await b?.close();
    await server.close();
  });

  async function signIn(agent: BrowserAgent, instance: RegisteredInstance) {
    let page = await agent.open(`${instance.url}/auth/login`);
    if (page.body.includes('name="password"')) page = await agent.signIn(page, 'erin', PASSWORD);
    return page;
  }

  async function apiMe(agent: BrowserAgent, instance: RegisteredInstance) {
    const response = await fetch(`${instance.url}/api/me`, { headers: { cookie: await agent.jar.getCookieString(instance.url) } });
    return { status: response.status, body: (await response.json()) as { user?: { username: string } } };
  }

  it('signs in by redirect; the browser gets only an HttpOnly SameSite=Lax session cookie', async function () {
    const agent = new BrowserAgent();
    const page = await signIn(agent, a);
    expect(page.url).to.equal(`${a.url}/`);
    expect(page.body).to.contain('Signed in as <strong id="username">erin</strong>');
    // Cookies are per host, not per port: the auth server's and other instances' share the jar; pick A's.
    const cookies = (await agent.jar.getCookies(a.url)).filter((cookie) => cookie.key.startsWith('chillfi3_'));
    expect(cookies.map((cookie) => cookie.key)).to.deep.equal([a.auth.options.sessionCookieName]);
    expect(cookies[0]).to.include({ httpOnly: true, sameSite: 'lax', secure: false });
    expect(cookies[0]!.value).to.not.match(/^ey/);
    expect((await apiMe(agent, a)).body.user?.username).to.equal('erin');
  });

  it('single sign-on: B signs in without the password; signing out on A ends the session on B too', async function () {
    const agent = new BrowserAgent();
    await signIn(agent, a);
    const onB = await agent.open(`${b.url}/auth/login`);
    expect(onB.url).to.equal(`${b.url}/`);
    expect(onB.body).to.contain('id="username">erin<');
    expect((await apiMe(agent, b)).status).to.equal(200);

    // Sign out on A: local session gone, then the auth server's confirmation, then back-channel logout to A and B.
    const confirm = await agent.open(`${a.url}/auth/logout`, { method: 'POST' });
    expect(confirm.body).to.contain('Sign out everywhere');
    const done = await agent.open(new URL(formAction(confirm.body), confirm.url).toString(), {
      form: { ...hiddenInputs(confirm.body), logout: 'yes' },
    });
    expect(done.url).to.equal(`${a.url}/`);
    expect(done.body).to.contain('id="signed-out"');
    expect((await apiMe(agent, a)).status).to.equal(401);
    expect((await apiMe(agent, b)).status).to.equal(401);
    expect((await agent.open(`${b.url}/`)).body).to.contain('id="signed-out"');
  });

  describe('the return path after sign-in (returnTo)', function () {
    let agent: BrowserAgent;
    before(async function () {
      agent = new BrowserAgent();
      await signIn(agent, a);
    });

    /** Where A's callback sends the browser after a sign-in started with `returnTo` (the auth session is live). */
    async function returnedTo(returnTo: string): Promise<string> {
      const login = `${a.url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
      const callback = await agent.open(login, {}, `${a.url}/auth/callback`);
      const response = await fetch(callback.url, { headers: { cookie: await agent.jar.getCookieString(callback.url) }, redirect: 'manual' });
      expect(response.status, returnTo).to.equal(303);
      return response.headers.get('location')!;
    }

    it('keeps a path on the instance, query and fragment included', async function () {
      expect(await returnedTo('/library?album=7#track-3')).to.equal('/library?album=7#track-3');
      expect(await returnedTo('/a/../b/./c')).to.equal('/b/c');
      // Encoded slashes and control characters the parser keeps stay encoded: a path here, never a host.
      expect(await returnedTo('/%2F%2Fevil.example')).to.equal('/%2F%2Fevil.example');
      expect(await returnedTo('/\u000b/evil.example')).to.equal('/%0B/evil.example');
      expect(await returnedTo('/\u0000/evil.example')).to.equal('/%00/evil.example');
    });

    it('sends everything that could leave the origin to / instead', async function () {
      const vectors = [
        '//evil.example',
        '/\\evil.example',
        '/\\/evil.example',
        '\\/evil.example',
        '/\t/evil.example',
        '/\n/evil.example',
        '/\r\n/evil.example',
        '/\t\\evil.example',
        '/.//evil.example',
        '/..//evil.example',
        '/a/../..//evil.example',
        ' //evil.example',
        '\u0001//evil.example',
        '\t//evil.example',
        'https:evil.example',
        'https:/evil.example',
        'http:evil.example',
        'javascript:alert(1)',
        'JaVaScRiPt:alert(1)',
        'data:text/html,<script>alert(1)</script>',
        '%2F%2Fevil.example',
        '%2f%5cevil.example',
        '%09/evil.example',
        'https://evil.example/',
        `${a.url.replace('127.0.0.1', 'localhost')}/`,
        'evil.example',
        '',
      ];
      for (const vector of vectors) expect(await returnedTo(vector), JSON.stringify(vector)).to.equal('/');
    });
  });

  describe('a sign-in the auth server refuses, or the person cancels', function () {
    let members: RegisteredInstance;
    before(async function () {
      members = await startRegisteredInstance(server, 'Members only', { accessPolicy: 'invite' });
      const grace = await addAccount(server, 'grace');
      const instance = await server.services.instances.findByClientId(members.clientId);
      await server.services.accessOperations.grant(instance!.id, grace.id, 'member', null, { accountId: null, via: 'cli' });
    });
    after(() => members?.close());

    it('says why an account is refused and offers another account and its account page, never "try again"', async function () {
      const agent = new BrowserAgent();
      await signIn(agent, a);
      const refused = await agent.open(`${members.url}/auth/login`);
      expect(refused.url).to.match(new RegExp(`^${members.url}/auth/callback\\?`));
      expect(refused.status).to.equal(403);
      expect(refused.body).to.contain('No access to this server');
      expect(refused.body).to.contain('Ask its admin for access');
      const switchTo = /href="([^"]+)">Sign in as someone else</.exec(refused.body)?.[1]?.replace(/&#38;/g, '&');
      expect(switchTo, 'a way to another account').to.match(new RegExp(`^${server.issuer}/session/end\\?`));
      expect(refused.body).to.contain(`href="${server.issuer}/account"`);
      expect(refused.body).not.to.match(/try (signing in )?again/i);

      // Another account: signed out at the auth server (its confirmation), back here, then grace signs in.
      const confirm = await agent.open(switchTo!);
      const back = await agent.open(new URL(formAction(confirm.body), confirm.url).toString(), { form: { ...hiddenInputs(confirm.body), logout: 'yes' } });
      expect(back.url).to.equal(`${members.url}/`);
      const login = await agent.open(`${members.url}/auth/login`);
      expect(login.body).to.contain('name="password"');
      const signedIn = await agent.signIn(login, 'grace', PASSWORD);
      expect(signedIn.url).to.equal(`${members.url}/`);
      expect(signedIn.body).to.contain('id="username">grace<');
    });

    it('says a cancelled sign-in was cancelled, and offers to sign in', async function () {
      const agent = new BrowserAgent();
      const login = await agent.open(`${a.url}/auth/login`);
      const cancel = /href="([^"]*\/abort)"/.exec(login.body)?.[1];
      expect(cancel, 'the sign-in page has a Cancel link').to.be.a('string');
      const cancelled = await agent.open(new URL(cancel!.replace(/&amp;/g, '&'), login.url).toString());
      expect(cancelled.url).to.match(new RegExp(`^${a.url}/auth/callback\\?`));
      expect(cancelled.status).to.equal(400);
      expect(cancelled.body).to.contain('Sign-in cancelled');
      expect(cancelled.body).to.contain('href="/auth/login"');
    });
  });

  it('refuses a callback that did not start here, and bad back-channel logout requests', async function () {
    const callback = await new BrowserAgent().open(`${a.url}/auth/callback?code=x&state=y`);
    expect(callback.status).to.equal(400);
    expect(callback.body).to.contain('Sign-in failed');
    for (const body of ['', 'logout_token=garbage']) {
      const response = await fetch(`${a.url}/auth/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(response.status).to.equal(400);
      expect(await response.json()).to.have.property('error', 'invalid_request');
    }
  });

  describe('logout token checks (tokens signed with the server key)', function () {
    let sign: (claims: JWTPayload, typ?: string) => Promise<string>;
    before(async function () {
      const jwk = (await server.services.keys.privateJwks()).find((key) => key.kty === 'RSA');
      const key = await importJWK(jwk as JWK, 'RS256');
      sign = (claims, typ = 'logout+jwt') =>
        new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ, kid: jwk!.kid as string }).sign(key);
    });
    const base = (): JWTPayload => ({
      iss: server.issuer,
      aud: a.clientId,
      iat: Math.floor(Date.now() / 1000),
      jti: Math.random().toString(36).slice(2),
      sid: 'some-session',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });
    async function refusal(token: string): Promise<string> {
      try {
        await a.auth.verifyLogoutToken(token);
      } catch (error) {
        expect(error).to.be.instanceOf(AuthError);
        return (error as AuthError).message;
      }
      throw new Error('accepted');
    }

    it('accepts a good one once (replay refused)', async function () {
      const token = await sign(base());
      expect(await a.auth.verifyLogoutToken(token)).to.deep.equal({ sid: 'some-session', sub: null });
      expect(await refusal(token)).to.match(/replayed/);
    });

    it('refuses wrong audience, missing event, a nonce, no sid nor sub, an old iat, an access token', async function () {
      expect(await refusal(await sign({ ...base(), aud: b.clientId }))).to.match(/aud/);
      expect(await refusal(await sign({ ...base(), events: {} }))).to.match(/event/);
      expect(await refusal(await sign({ ...base(), nonce: 'n' }))).to.match(/nonce/);
      const { sid: _sid, ...noSid } = base();
      expect(await refusal(await sign(noSid))).to.match(/sid or sub/);
      expect(await refusal(await sign({ ...base(), iat: Math.floor(Date.now() / 1000) - 3600 }))).to.match(/iat|age/);
      expect(await refusal(await sign(base(), 'at+jwt'))).to.match(/typ/);
    });
  });

  it('refreshes the session token transparently when it nears expiry', async function () {
    const agent = new BrowserAgent();
    await signIn(agent, a);
    const before = (await (await fetch(`${a.url}/debug/token`, { headers: { cookie: await agent.jar.getCookieString(a.url) } })).json()) as { accessToken: string };
    const sessionId = (await agent.jar.getCookies(a.url)).find((cookie) => cookie.key === a.auth.options.sessionCookieName)!.value;
    const session = (await a.auth.sessions.get(sessionId))!;
    const { createHash } = await import('node:crypto');
    await a.auth.store.set(`session:${createHash('sha256').update(sessionId).digest('base64url')}`, JSON.stringify({ ...session, expiresAt: Date.now() + 1000 }), 60_000);
    const requests = countRequests(server);
    const results = await Promise.all(Array.from({ length: 10 }, () => apiMe(agent, a)));
    expect(requests.get('POST /token'), 'one refresh for ten requests').to.equal(1);
    expect(results.map((result) => result.status)).to.deep.equal(Array(10).fill(200));
    const after = (await a.auth.sessions.get(sessionId))!;
    expect(after.accessToken).to.not.equal(before.accessToken);
    expect(decodeJwt(after.accessToken).sub).to.equal(decodeJwt(before.accessToken).sub);
  });

  it('refuses new sign-ins cleanly while the auth server is unreachable, and accepts them again after', async function () {
    const signedIn = new BrowserAgent();
    await signIn(signedIn, a);
    const restart = await stopListening(server);
    try {
      const refused = await new BrowserAgent().open(`${a.url}/auth/login`);
      expect(refused.status).to.equal(503);
      expect(refused.body).to.contain('Sign-in is unavailable right now');
      const json = await fetch(`${a.url}/auth/login`, { headers: { accept: 'application/json' }, redirect: 'manual' });
      expect(json.status).to.equal(503);
      expect(await json.json()).to.have.property('error', 'auth_unavailable');
      // Already signed-in users keep working.
      expect((await apiMe(signedIn, a)).status).to.equal(200);
      expect(a.auth.status.state).to.equal('degraded');
    } finally {
      await restart();
    }
    const page = await signIn(new BrowserAgent(), a);
    expect(page.url).to.equal(`${a.url}/`);
    expect(a.auth.status.state).to.equal('ok');
  });
});
