import { expect } from 'chai';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AuthError, createAuthClient, type AuthClient, type AuthStatus } from '../../src/sdk/index.js';
import { addAccount, codeFlow, sdkClientFor, startTestServer, stopListening, type TestServer } from './support/sdk-server.js';

describe('sdk: auth server unreachable', function () {
  let server: TestServer;
  let auth: AuthClient;
  let accessToken: string;

  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'bob');
    let oidcClient;
    ({ auth, oidcClient } = await sdkClientFor(server, { timeoutMs: 1000, probeIntervalSeconds: 0.05 }));
    accessToken = (await codeFlow(oidcClient, { username: 'bob' })).tokens.access_token;
  });
  after(async function () {
    auth.close();
    await server.close();
  });

  it('falls back to offline checks while the server is away, fails closed on demand, and recovers', async function () {
    expect((await auth.validateToken(accessToken, { policy: 'introspect' })).checkedBy).to.equal('introspection');
    expect(auth.status.state).to.equal('ok');
    const events: string[] = [];
    auth.on('degraded', (status: AuthStatus) => events.push(`degraded:${status.state}`));
    auth.on('recovered', (status: AuthStatus) => events.push(`recovered:${status.state}`));

    const restart = await stopListening(server);
    const verified = await auth.validateToken(accessToken, { policy: 'introspect' });
    expect(verified.checkedBy).to.equal('offline-fallback');
    expect(verified.user.username).to.equal('bob');
    expect(auth.status.state).to.equal('degraded');
    expect(auth.status.lastError).to.be.a('string');
    expect(events).to.deep.equal(['degraded:degraded']);

    let refused: unknown;
    try {
      await auth.validateToken(accessToken, { policy: 'introspect', failClosed: true });
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(AuthError).and.include({ code: 'auth_unavailable', status: 503 });
    expect(await auth.checkReachable()).to.equal(false);

    await restart();
    // The background probe notices on its own.
    const recovered = new Promise<void>((resolve) => auth.once('recovered', () => resolve()));
    await recovered;
    expect(auth.status.state).to.equal('ok');
    expect(events).to.deep.equal(['degraded:degraded', 'recovered:ok']);
    expect((await auth.validateToken(accessToken, { policy: 'introspect' })).checkedBy).to.equal('introspection');
  });

  it('abandons a call after AUTH_TIMEOUT when the server accepts but never answers', async function () {
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const client = createAuthClient({ serverUrl: url, clientId: 'x', clientSecret: 'y', timeoutMs: 150, logger: null });
    try {
      let error: unknown;
      try {
        await client.discover();
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(AuthError).and.include({ code: 'auth_unavailable', status: 503 });
      expect(client.status.state).to.equal('degraded');
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
