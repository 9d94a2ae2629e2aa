// The rollout aid: ChillFi3's own HS256 tokens, signed exactly as its server signs them today, accepted by
// validateToken() and by every middleware when (and only when) the instance's JWT_SECRET is configured.
import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import { SignJWT } from 'jose';
import { Server as SocketServer } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { AuthError, WHOAMI_EVENT, type AuthClient, type AuthenticatedRequest, type AuthUser } from '../../src/sdk/index.js';
import { listen } from './support/listen.js';
import { sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';

const JWT_SECRET = 'the-instance-jwt-secret-of-at-least-32-bytes';

/** What ChillFi3's auth:login answers: jsonwebtoken's jwt.sign({userId, username, isAdmin}, JWT_SECRET, {expiresIn: '7d'}). */
function chillfi3Token(claims: { userId: number; username: string; isAdmin: unknown }, secret = JWT_SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('7d').sign(new TextEncoder().encode(secret));
}

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('sdk: legacy HS256 tokens (rollout aid)', function () {
  let server: TestServer;
  let plain: AuthClient;
  let auth: AuthClient;

  before(async function () {
    server = await startTestServer('sqlite');
    ({ auth: plain } = await sdkClientFor(server));
    ({ auth } = await sdkClientFor(server, { legacy: { secret: JWT_SECRET } }));
  });
  after(async function () {
    plain.close();
    auth.close();
    await server.close();
  });

  it('are refused unless enabled', async function () {
    const error = await refusal(plain.validateToken(await chillfi3Token({ userId: 7, username: 'carol', isAdmin: 1 })));
    expect(error).to.be.instanceOf(AuthError).and.include({ code: 'invalid_token' });
  });

  it('validateToken() maps a token exactly as ChillFi3 signs it (isAdmin: 1, its TINYINT) to an admin', async function () {
    const { user, checkedBy } = await auth.validateToken(await chillfi3Token({ userId: 7, username: 'carol', isAdmin: 1 }));
    expect(checkedBy).to.equal('legacy');
    expect(user).to.deep.equal({ id: 7, sub: 'legacy:7', username: 'carol', display_name: null, is_admin: true, role: 'admin', sid: null, amr: [], acr: null, source: 'legacy' });
  });

  it('takes 1, "1" and true for admin, anything else for member', async function () {
    const roleOf = async (isAdmin: unknown) => (await auth.validateToken(await chillfi3Token({ userId: 3, username: 'dan', isAdmin }))).user.role;
    expect(await Promise.all([1, '1', true].map(roleOf))).to.deep.equal(['admin', 'admin', 'admin']);
    expect(await Promise.all([0, '0', false, null, 'yes', 2].map(roleOf))).to.deep.equal(Array(6).fill('member'));
  });

  it('refuses a token signed with another secret, and one without userId', async function () {
    const forged = await chillfi3Token({ userId: 1, username: 'admin', isAdmin: 1 }, 'a-guessed-secret-of-some-length');
    expect(await refusal(auth.validateToken(forged))).to.be.instanceOf(AuthError).and.include({ code: 'invalid_token' });
    const anonymous = await new SignJWT({ username: 'x' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
    expect(await refusal(auth.validateToken(anonymous))).to.be.instanceOf(AuthError).and.include({ code: 'invalid_token' });
  });

  it('is accepted the same way by the Express, Koa and Socket.IO middleware', async function () {
    const token = await chillfi3Token({ userId: 9, username: 'erin', isAdmin: 1 });
    const expressApp = express();
    expressApp.get('/', auth.express(), (req, res) => res.json({ user: (req as AuthenticatedRequest).user }));
    const koa = new Koa();
    koa.use(auth.koa());
    koa.use((ctx) => {
      ctx.body = { user: ctx.state.user };
    });
    const [viaExpress, viaKoa, viaSocket] = await Promise.all([listen(expressApp), listen(koa.callback()), listen()]);
    const io = new SocketServer(viaSocket.server);
    io.use(auth.socketIo({ required: true, revalidateIntervalMs: 0 }) as never);
    const client = connect(viaSocket.url, { auth: { token }, reconnection: false, transports: ['websocket'] });
    try {
      for (const app of [viaExpress, viaKoa]) {
        const response = await fetch(app.url, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).to.equal(200);
        expect(((await response.json()) as { user: AuthUser }).user).to.include({ id: 9, is_admin: true, source: 'legacy' });
      }
      const answer = (await client.timeout(5000).emitWithAck(WHOAMI_EVENT)) as { authenticated: boolean; user: AuthUser };
      expect(answer.authenticated).to.equal(true);
      expect(answer.user).to.include({ id: 9, is_admin: true, source: 'legacy' });
    } finally {
      client.disconnect();
      io.close();
      await Promise.all([viaExpress.close(), viaKoa.close(), viaSocket.close()]);
    }
  });
});
