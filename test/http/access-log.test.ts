import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import * as oidc from 'openid-client';
import { pino } from 'pino';
import { loadConfig } from '../../config/index.js';
import { accessLog } from '../../src/http/access-log.js';
import { openStores } from '../../src/stores.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { authorizationRequest, basicAuth, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { freePort } from '../support/free-port.js';
import { output, startMain } from '../support/main-process.js';
import { startTestServer, TEST_SECRET_KEY } from '../support/test-server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface AccessLine {
  msg: string;
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  clientId?: string;
  aborted?: boolean;
}

/** The server as `npm start` runs it on a fresh embedded database, with its output captured. */
async function startServer(dataDir: string, logLevel: string) {
  const port = await freePort();
  const env = { AUTH_DATA_DIR: dataDir, AUTH_SECRET_KEY: TEST_SECRET_KEY, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', LOG_LEVEL: logLevel };
  const child = startMain(env);
  const read = output(child);
  const url = `http://127.0.0.1:${port}`;
  // Polled, not read from the log: at LOG_LEVEL=warn the server does not say that it listens.
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || attempt === 300) throw new Error(`not serving: ${read()}`);
    if (await fetch(`${url}/readyz`).then((response) => response.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, read, env, url };
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

function form(clientId: string, secret: string, body: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  };
}

describe('the access log', function () {
  let dataDir: string;
  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'chillfi3-access-log-'));
  });
  afterEach(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes one line per request with route, status, duration and request id, and no secret the requests carried', async function () {
    const server = await startServer(dataDir, 'info');
    const sent: Record<string, string> = {};
    let clientId: string;
    let clientCredentialsRequestId: string | null;
    try {
      const stores = await openStores(loadConfig(server.env), { schema: 'require-current' });
      let clientSecret: string;
      try {
        await stores.accounts.create({ username: 'dave', passwordHash: await stores.hasher.hash(PASSWORD), displayName: 'Dave' });
        const created = await stores.instances.create({
          name: 'Logged',
          redirectUris: [REDIRECT_URI],
          grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
          skipConsent: true,
        });
        clientId = created.instance.clientId;
        clientSecret = created.clientSecret!;
      } finally {
        await stores.close();
      }
      const client = await oidc.discovery(new URL(`http://localhost:${new URL(server.url).port}`), clientId, clientSecret, undefined, {
        execute: [oidc.allowInsecureRequests],
      });
      sent.clientSecret = clientSecret;
      sent.password = PASSWORD;

      // The code flow: the authorization request (state, code challenge), the sign-in form (password), the redirect
      // (code), then the token endpoint (code, verifier) and its tokens, refreshed and introspected.
      const { url, verifier, state } = await authorizationRequest(client, 'openid offline_access');
      const agent = new BrowserAgent();
      const back = await agent.signIn(await agent.open(url, {}, REDIRECT_URI), 'dave', PASSWORD, REDIRECT_URI);
      const code = new URL(back.url).searchParams.get('code')!;
      Object.assign(sent, { verifier, state, code });
      const issued = (await (
        await fetch(`${server.url}/token`, form(clientId, clientSecret, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }))
      ).json()) as Record<string, string>;
      const refreshed = (await (
        await fetch(`${server.url}/token`, form(clientId, clientSecret, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }))
      ).json()) as Record<string, string>;
      await (await fetch(`${server.url}/token/introspection`, form(clientId, clientSecret, { token: refreshed.access_token! }))).text();
      Object.assign(sent, {
        accessToken: issued.access_token,
        refreshToken: issued.refresh_token,
        idToken: issued.id_token,
        refreshedAccessToken: refreshed.access_token,
        refreshedRefreshToken: refreshed.refresh_token,
      });

      const serviceRequest = form(clientId, clientSecret, { grant_type: 'client_credentials' });
      const service = await fetch(`${server.url}/token`, { ...serviceRequest, headers: { ...(serviceRequest.headers as Record<string, string>), 'x-request-id': 'chosen-by-the-client' } });
      clientCredentialsRequestId = service.headers.get('x-request-id');
      sent.serviceToken = ((await service.json()) as { access_token: string }).access_token;

      sent.wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
      const login = await openLoginPage(client);
      await login.agent.signIn(login.page, 'dave', sent.wrongPassword, REDIRECT_URI);
    } finally {
      await stop(server.child);
    }

    const text = server.read();
    const lines = text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as AccessLine)
      .filter((line) => line.msg === 'request');
    for (const line of lines) {
      expect(line.requestId).to.match(UUID);
      expect(line.method).to.match(/^[A-Z]+$/);
      expect(line.route).to.match(/^\/[^?]*$/);
      expect(line.status).to.be.a('number');
      expect(line.durationMs).to.be.a('number').and.at.least(0);
    }
    expect(lines.map((line) => line.route)).to.include.members(['/auth', '/interaction/:uid', '/interaction/:uid/login', '/auth/:uid', '/token', '/token/introspection']);
    const serviceLine = lines.find((line) => line.requestId === clientCredentialsRequestId);
    expect(serviceLine, 'the line of the X-Request-Id answered').to.include({ method: 'POST', route: '/token', status: 200, clientId: clientId! });
    expect(clientCredentialsRequestId, 'a client that is no trusted proxy does not choose the id').to.match(UUID);

    for (const [what, value] of Object.entries(sent)) {
      expect(value, what).to.be.a('string').with.length.above(5);
      expect(text.includes(value), `${what} in the log`).to.equal(false);
    }
  });

  it('leaves the access lines out at LOG_LEVEL=warn', async function () {
    const server = await startServer(dataDir, 'warn');
    try {
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
      expect((await fetch(`${server.url}/.well-known/openid-configuration`)).status).to.equal(200);
    } finally {
      await stop(server.child);
    }
    expect(server.read()).not.to.contain('"msg":"request"');
  });

  describe('X-Request-Id', function () {
    async function requestIdAnswered(trustProxy: string, sentId: string): Promise<string | null> {
      const server = await startTestServer('sqlite', { AUTH_TRUST_PROXY: trustProxy });
      try {
        return (await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': sentId } })).headers.get('x-request-id');
      } finally {
        await server.close();
      }
    }

    it('keeps the id a trusted proxy sent', async function () {
      expect(await requestIdAnswered('loopback', 'nginx-0f3a9c.1')).to.equal('nginx-0f3a9c.1');
    });

    it('makes a fresh one for an id that is not sane, or from a peer that is not a trusted proxy', async function () {
      expect(await requestIdAnswered('loopback', 'two words')).to.match(UUID);
      expect(await requestIdAnswered('loopback', 'x'.repeat(129))).to.match(UUID);
      expect(await requestIdAnswered('false', 'nginx-0f3a9c.1')).to.match(UUID);
    });
  });

  it('marks the line of a request whose client went away before the answer as aborted', async function () {
    const lines: AccessLine[] = [];
    const logger = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as AccessLine);
        done();
      },
    }));
    const app = new Koa();
    app.use(accessLog(logger, false));
    app.use(async (ctx) => {
      if (ctx.path === '/slow') await new Promise((resolve) => setTimeout(resolve, 300));
      ctx.body = 'ok';
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${url}/fast`)).status).to.equal(200);
      await fetch(`${url}/slow`, { signal: AbortSignal.timeout(50) }).catch(() => undefined);
      for (let wait = 0; lines.length < 2 && wait < 40; wait++) await new Promise((resolve) => setTimeout(resolve, 25));
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(lines.map((line) => [line.msg, line.aborted])).to.deep.equal([
      ['request', undefined],
      ['request', true],
    ]);
  });
});
