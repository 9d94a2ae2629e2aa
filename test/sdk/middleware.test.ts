import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import * as oidc from 'openid-client';
import { Server as SocketServer, type Socket as ServerSocket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import type { AuthClient, AuthenticatedRequest, AuthUser, SocketMiddleware } from '../../src/sdk/index.js';
import { addAccount, addInstance, codeFlow, sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';
import { listen } from './support/listen.js';

type AuthedSocket = ServerSocket & { authenticated?: boolean; user?: AuthUser | null };

describe('sdk: Express, Koa and Socket.IO middleware', function () {
  let server: TestServer;
  let auth: AuthClient;
  let oidcClient: oidc.Configuration;
  let token: string;
  let foreignToken: string;

  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'dave');
    ({ auth, oidcClient } = await sdkClientFor(server));
    token = (await codeFlow(oidcClient, { username: 'dave' })).tokens.access_token;
    const other = await addInstance(server);
    foreignToken = (await codeFlow(other.client, { username: 'dave' })).tokens.access_token;
  });
  after(async function () {
    auth.close();
    await server.close();
  });

  async function get(url: string, headers: Record<string, string> = {}) {
    const response = await fetch(url, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
  }

  describe('Express', function () {
    let app: Awaited<ReturnType<typeof listen>>;
    before(async function () {
      const routes = express();
      routes.get('/api/me', auth.express(), (req, res) => res.json({ user: (req as AuthenticatedRequest).user }));
      routes.get('/api/optional', auth.express({ required: false }), (req, res) => res.json({ user: (req as AuthenticatedRequest).user }));
      routes.get('/api/service', auth.express({ allowServiceTokens: true }), (req, res) => res.json({ user: (req as AuthenticatedRequest).user }));
      app = await listen(routes);
    });
    after(() => app.close());

    it('401 without a token, 403 for a bad or foreign one, req.user for a good one', async function () {
      const missing = await get(`${app.url}/api/me`);
      expect(missing.status).to.equal(401);
      expect(missing.body.error).to.equal('missing_token');
      expect(missing.headers.get('www-authenticate')).to.equal('Bearer');
      expect((await get(`${app.url}/api/me`, { authorization: 'Bearer not.a.jwt' })).status).to.equal(403);
      expect((await get(`${app.url}/api/me`, { authorization: `Bearer ${foreignToken}` })).status).to.equal(403);
      const ok = await get(`${app.url}/api/me`, { authorization: `Bearer ${token}` });
      expect(ok.status).to.equal(200);
      expect(ok.body.user).to.include({ username: 'dave', is_admin: false, id: null });
      expect(ok.body.user).to.not.have.property('password');
    });

    it('refuses a client_credentials token, which belongs to no user, unless told to accept it', async function () {
      const serviceToken = await auth.getServiceToken();
      expect((await get(`${app.url}/api/me`, { authorization: `Bearer ${serviceToken}` })).status).to.equal(403);
      expect((await get(`${app.url}/api/service`, { authorization: `Bearer ${serviceToken}` })).status).to.equal(200);
    });

    it('optional mode passes anonymous requests with user null, still refuses bad tokens', async function () {
      expect((await get(`${app.url}/api/optional`)).body).to.deep.equal({ user: null });
      expect((await get(`${app.url}/api/optional`, { authorization: 'Bearer bad' })).status).to.equal(403);
    });
  });

  describe('Koa', function () {
    let app: Awaited<ReturnType<typeof listen>>;
    before(async function () {
      const koa = new Koa();
      koa.use(auth.koa());
      koa.use((ctx) => {
        ctx.body = { user: ctx.state.user };
      });
      app = await listen(koa.callback());
    });
    after(() => app.close());

    it('401 without a token, 403 for a bad one, ctx.state.user for a good one', async function () {
      expect((await get(app.url)).status).to.equal(401);
      expect((await get(app.url, { authorization: `Bearer ${foreignToken}` })).status).to.equal(403);
      const ok = await get(app.url, { authorization: `Bearer ${token}` });
      expect(ok.status).to.equal(200);
      expect(ok.body.user).to.include({ username: 'dave', role: 'member' });
    });
  });

  describe('Socket.IO', function () {
    let app: Awaited<ReturnType<typeof listen>>;
    let io: SocketServer;
    let strictIo: SocketServer;
    let middleware: SocketMiddleware;
    const clients: ClientSocket[] = [];

    before(async function () {
      app = await listen();
      io = new SocketServer(app.server);
      middleware = auth.socketIo({ policy: 'introspect', revalidateIntervalMs: 0 });
      io.use(middleware as never);
      io.on('connection', (socket: AuthedSocket) => {
        socket.on('whoami', (reply: (answer: unknown) => void) => reply({ authenticated: socket.authenticated, user: socket.user }));
      });
      strictIo = io.of('/strict') as unknown as SocketServer;
      (strictIo as unknown as { use(fn: unknown): void }).use(auth.socketIo({ required: true, revalidateIntervalMs: 0 }));
    });
    after(async function () {
      for (const client of clients) client.disconnect();
      io.close();
      await app.close();
    });

    function open(path = '', token?: string): Promise<ClientSocket> {
      const client = connect(`${app.url}${path}`, { auth: token ? { token } : {}, reconnection: false, transports: ['websocket'] });
      clients.push(client);
      return new Promise((resolve, reject) => {
        client.once('connect', () => resolve(client));
        client.once('connect_error', reject);
      });
    }
    const whoami = (client: ClientSocket) => client.emitWithAck('whoami') as Promise<{ authenticated: boolean; user: AuthUser | null }>;

    it('lets anonymous sockets through unauthenticated, authenticates a token from handshake.auth', async function () {
      expect(await whoami(await open())).to.deep.equal({ authenticated: false, user: null });
      expect(await whoami(await open('', 'bad.token.here'))).to.deep.equal({ authenticated: false, user: null });
      const answer = await whoami(await open('', token));
      expect(answer.authenticated).to.equal(true);
      expect(answer.user).to.include({ username: 'dave' });
    });

    it('refuses anonymous sockets when required', async function () {
      let error: (Error & { data?: { status: number } }) | undefined;
      try {
        await open('/strict');
      } catch (caught) {
        error = caught as Error & { data?: { status: number } };
      }
      expect(error?.data?.status).to.equal(401);
    });

    it('disconnects the sockets of a session that ends (back-channel logout event)', async function () {
      const { tokens } = await codeFlow(oidcClient, { username: 'dave' });
      const client = await open('', tokens.access_token);
      const other = await open('', token);
      const ended = new Promise<unknown>((resolve) => client.once('auth:session-ended', resolve));
      const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
      await auth.endSession({ sid: tokens.claims()!.sid as string, sub: null });
      expect(await ended).to.deep.equal({ reason: 'signed out' });
      expect(await disconnected).to.equal('io server disconnect');
      expect(other.connected).to.equal(true);
      // The token of the ended session is refused from now on, offline too.
      let refused: unknown;
      try {
        await auth.validateToken(tokens.access_token, { policy: 'offline' });
      } catch (error) {
        refused = error;
      }
      expect(refused).to.have.property('code', 'inactive_token');
    });

    it('disconnects a socket whose token is revoked at the next revalidation', async function () {
      const { tokens } = await codeFlow(oidcClient, { username: 'dave' });
      const client = await open('', tokens.access_token);
      const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
      await oidc.tokenRevocation(oidcClient, tokens.access_token);
      await middleware.tracker.revalidate();
      expect(await disconnected).to.equal('io server disconnect');
    });
  });
});
