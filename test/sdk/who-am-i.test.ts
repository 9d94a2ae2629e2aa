// Who am I, for clients that hold only the session cookie: GET /auth/me, the socket's auth:me, and an Authorization
// header that carries no token (ChillFi3's client sends "Bearer null" from an empty localStorage) falling back to the
// cookie. Against an example instance signed in to a real auth server.
import { expect } from 'chai';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { WHOAMI_EVENT, type AuthUser } from '../../src/sdk/index.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { PASSWORD } from '../support/fixtures.js';
import { startRegisteredInstance, type RegisteredInstance } from './support/instances.js';
import { addAccount, startTestServer, type TestServer } from './support/sdk-server.js';

describe('sdk: who am I (cookie session)', function () {
  let server: TestServer;
  let instance: RegisteredInstance;
  let cookie: string;
  const sockets: ClientSocket[] = [];

  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'rita');
    instance = await startRegisteredInstance(server, 'Instance R');
    const agent = new BrowserAgent();
    await agent.signIn(await agent.open(`${instance.url}/auth/login`), 'rita', PASSWORD);
    cookie = await agent.jar.getCookieString(instance.url);
  });
  after(async function () {
    for (const socket of sockets) socket.disconnect();
    await instance?.close();
    await server?.close();
  });

  async function get(path: string, headers: Record<string, string>) {
    const response = await fetch(`${instance.url}${path}`, { headers });
    return { status: response.status, cacheControl: response.headers.get('cache-control'), ...((await response.json()) as { user?: AuthUser; error?: string }) };
  }

  it('GET /auth/me answers the signed-in user from the session cookie, 401 without one', async function () {
    const answer = await get('/auth/me', { cookie });
    expect(answer).to.include({ status: 200, cacheControl: 'no-store' });
    expect(answer.user).to.include({ username: 'rita', is_admin: false, source: 'auth-server' });
    expect(answer.user?.id, 'the local row of the example instance').to.be.a('number');
    expect(answer.user).to.not.have.property('password');
    expect(await get('/auth/me', {})).to.include({ status: 401, error: 'missing_token' });
  });

  for (const authorization of ['', 'Bearer', 'Bearer null', 'Bearer undefined', 'bearer NULL']) {
    it(`an Authorization header "${authorization}" carries no token: the cookie session answers`, async function () {
      for (const path of ['/auth/me', '/api/me']) {
        const answer = await get(path, { authorization, cookie });
        expect(answer.status, path).to.equal(200);
        expect(answer.user?.username, path).to.equal('rita');
      }
      expect(await get('/api/me', { authorization }), 'and without a cookie, no token at all').to.include({ status: 401 });
    });
  }

  it('a real but bad token is still refused, cookie or not (403)', async function () {
    expect(await get('/api/me', { authorization: 'Bearer nul', cookie })).to.include({ status: 403 });
    expect(await get('/auth/me', { authorization: 'Bearer a.b.c', cookie })).to.include({ status: 403 });
  });

  function open(options: { token?: string; cookie?: string }): Promise<ClientSocket> {
    const socket = connect(instance.url, {
      auth: options.token === undefined ? {} : { token: options.token },
      extraHeaders: options.cookie ? { cookie: options.cookie } : {},
      reconnection: false,
      transports: ['websocket'],
    });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  it('a socket asks auth:me; a handshake token "null" falls back to the cookie too', async function () {
    const viaCookie = await open({ token: 'null', cookie });
    const answer = (await viaCookie.timeout(5000).emitWithAck(WHOAMI_EVENT)) as { authenticated: boolean; user: AuthUser | null };
    expect(answer.authenticated).to.equal(true);
    expect(answer.user).to.include({ username: 'rita' });
    const anonymous = await open({});
    expect(await anonymous.timeout(5000).emitWithAck(WHOAMI_EVENT)).to.deep.equal({ authenticated: false, user: null });
  });

  /** Asks auth:me without an acknowledgement callback, as ChillFi3's client does, and waits for the event of that name. */
  function askByEvent(socket: ClientSocket): Promise<{ authenticated: boolean; user: AuthUser | null }> {
    const answered = new Promise<{ authenticated: boolean; user: AuthUser | null }>((resolve) => socket.once(WHOAMI_EVENT, resolve));
    socket.emit(WHOAMI_EVENT);
    return answered;
  }

  it('a socket that asks auth:me without a callback hears an auth:me event back', async function () {
    const signedIn = await askByEvent(await open({ cookie }));
    expect(signedIn.authenticated).to.equal(true);
    expect(signedIn.user).to.include({ username: 'rita' });
    expect(await askByEvent(await open({}))).to.deep.equal({ authenticated: false, user: null });
  });
});
