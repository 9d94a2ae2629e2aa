// requireMfa(): the SDK's guard for routes that need a sign-in with a second factor, on Express, Koa and Socket.IO,
// against tokens from a real auth server (amr/acr on the user), and the browser step-up through an example instance.
import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import { Server as SocketServer } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { hasMfa, koaRequireMfa, requireMfa, socketRequireMfa, type AuthClient, type AuthenticatedRequest } from '../../src/sdk/index.js';
import { BrowserAgent, hiddenInputs } from '../support/browser-agent.js';
import { PASSWORD, authorizationRequest, REDIRECT_URI } from '../support/fixtures.js';
import { enrolTotp, submitForm, TestClock, totpCode } from '../support/mfa.js';
import { listen } from './support/listen.js';
import { startRegisteredInstance } from './support/instances.js';
import { addAccount, sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';
import * as oidc from 'openid-client';

describe('sdk: requireMfa', function () {
  this.timeout(30_000);
  const clock = new TestClock();
  let server: TestServer;
  let auth: AuthClient;
  /** A password-only sign-in's token, and one with an authenticator app. */
  let passwordToken: string;
  let mfaToken: string;

  before(async function () {
    server = await startTestServer('sqlite', {}, { clock: clock.read });
    let oidcClient: oidc.Configuration;
    ({ auth, oidcClient } = await sdkClientFor(server));
    await addAccount(server, 'dave');
    const mina = await addAccount(server, 'mina');
    const secret = await enrolTotp(server, mina);
    clock.nextPeriod();
    for (const [username, code] of [['dave', null], ['mina', totpCode(secret, clock.now)]] as const) {
      const agent = new BrowserAgent();
      const request = await authorizationRequest(oidcClient);
      let page = await agent.signIn(await agent.open(request.url, {}, REDIRECT_URI), username, PASSWORD, REDIRECT_URI);
      if (code) page = await submitForm(agent, page, { code }, REDIRECT_URI);
      const tokens = await oidc.authorizationCodeGrant(oidcClient, new URL(page.url), { pkceCodeVerifier: request.verifier, expectedState: request.state });
      if (code) mfaToken = tokens.access_token;
      else passwordToken = tokens.access_token;
    }
  });
  after(async function () {
    auth.close();
    await server.close();
  });

  it('puts amr and acr on the user', async function () {
    const dave = (await auth.validateToken(passwordToken)).user;
    const mina = (await auth.validateToken(mfaToken)).user;
    expect(dave).to.deep.include({ amr: ['pwd'], acr: 'pwd' });
    expect(mina).to.deep.include({ amr: ['pwd', 'otp', 'mfa'], acr: 'mfa' });
    expect([hasMfa(dave), hasMfa(mina), hasMfa(null)]).to.deep.equal([false, true, false]);
  });

  it('Express: passes a second-factor sign-in, sends a browser to step up, answers an API call RFC 9470', async function () {
    const routes = express();
    routes.get('/admin', auth.express(), requireMfa(), (req, res) => res.json({ user: (req as AuthenticatedRequest).user }));
    const app = await listen(routes);
    try {
      const ok = await fetch(`${app.url}/admin`, { headers: { authorization: `Bearer ${mfaToken}` } });
      expect(ok.status).to.equal(200);
      const api = await fetch(`${app.url}/admin`, { headers: { authorization: `Bearer ${passwordToken}` } });
      expect(api.status).to.equal(401);
      expect(api.headers.get('www-authenticate')).to.contain('error="insufficient_user_authentication"').and.contain('acr_values="mfa"');
      expect(await api.json()).to.include({ error: 'insufficient_user_authentication', acr_values: 'mfa' });
      const page = await fetch(`${app.url}/admin?tab=users`, { headers: { authorization: `Bearer ${passwordToken}`, accept: 'text/html' }, redirect: 'manual' });
      expect(page.status).to.equal(302);
      expect(page.headers.get('location')).to.equal('/auth/login?returnTo=%2Fadmin%3Ftab%3Dusers&acr_values=mfa');
    } finally {
      await app.close();
    }
  });

  it('Koa: the same', async function () {
    const koa = new Koa();
    koa.use(auth.koa());
    koa.use(koaRequireMfa({ loginPath: '/sign-in' }));
    koa.use((ctx) => {
      ctx.body = { ok: true };
    });
    const app = await listen(koa.callback());
    try {
      expect((await fetch(app.url, { headers: { authorization: `Bearer ${mfaToken}` } })).status).to.equal(200);
      expect((await fetch(app.url, { headers: { authorization: `Bearer ${passwordToken}` } })).status).to.equal(401);
      const page = await fetch(`${app.url}/x`, { headers: { authorization: `Bearer ${passwordToken}`, accept: 'text/html' }, redirect: 'manual' });
      expect(page.headers.get('location')).to.equal('/sign-in?returnTo=%2Fx&acr_values=mfa');
    } finally {
      await app.close();
    }
  });

  it('Socket.IO: refuses a connection to the admin namespace without a second factor, saying what to ask for', async function () {
    const app = await listen();
    const io = new SocketServer(app.server);
    const admin = io.of('/admin');
    admin.use(auth.socketIo({ required: true, revalidateIntervalMs: 0 }) as never);
    admin.use(socketRequireMfa() as never);
    const open = (token: string) =>
      new Promise<{ ok: boolean; data?: unknown }>((resolve) => {
        const client = connect(`${app.url}/admin`, { auth: { token }, reconnection: false, transports: ['websocket'] });
        client.once('connect', () => {
          client.disconnect();
          resolve({ ok: true });
        });
        client.once('connect_error', (error: Error & { data?: unknown }) => resolve({ ok: false, data: error.data }));
      });
    try {
      expect(await open(mfaToken)).to.deep.equal({ ok: true });
      expect(await open(passwordToken)).to.deep.equal({ ok: false, data: { error: 'insufficient_user_authentication', acr_values: 'mfa', status: 401 } });
    } finally {
      io.close();
      await app.close();
    }
  });

  it("steps a browser up through an example instance's /admin: acr_values=mfa, enrolment at the auth server, back to /admin", async function () {
    const instance = await startRegisteredInstance(server, 'Stepping instance');
    try {
      await addAccount(server, 'owen');
      const agent = new BrowserAgent();
      let page = await agent.open(`${instance.url}/auth/login`);
      page = await agent.signIn(page, 'owen', PASSWORD);
      expect(page.url).to.equal(`${instance.url}/`);
      // The session is a password-only one: /admin sends the browser to step up, and the auth server asks for a factor.
      const enrol = await agent.open(`${instance.url}/admin`);
      expect(enrol.body).to.contain('Set up an authenticator app').and.not.contain('name="password"');
      const secret = /class="totp-secret">([A-Z2-7]+)</.exec(enrol.body)![1]!;
      const codes = await submitForm(agent, enrol, { ...hiddenInputs(enrol.body), code: totpCode(secret, clock.now) });
      expect(codes.body).to.contain('Your recovery codes');
      const done = await submitForm(agent, codes, {});
      expect(done.url).to.equal(`${instance.url}/admin`);
      const body = JSON.parse(done.body) as { admin: boolean; user: { acr: string; amr: string[] } };
      expect(body.admin).to.equal(true);
      expect(body.user).to.deep.include({ acr: 'mfa', amr: ['pwd', 'otp', 'mfa'] });
    } finally {
      await instance.close();
    }
  });
});
