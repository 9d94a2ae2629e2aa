// resolveUser with ChillFi3's own users table: a real MariaDB with ChillFi3's schema in a scratch database, a real
// auth server, and the SDK's Express middleware in between.
import { expect } from 'chai';
import express from 'express';
import { decodeJwt, SignJWT } from 'jose';
import mysql from 'mysql2/promise';
import * as oidc from 'openid-client';
import { chillfi3Users, resolveLocalUsers, type AuthClient, type AuthenticatedRequest, type AuthUser } from '../../src/sdk/index.js';
import { bcryptOf, scratchChillFi3, type ChillFi3Database } from '../import/chillfi3-database.js';
import { listen } from './support/listen.js';
import { addAccount, codeFlow, sdkClientFor, startTestServer, stopListening, type TestServer } from './support/sdk-server.js';

const JWT_SECRET = 'the-instance-jwt-secret-of-at-least-32-bytes';

describe('sdk: resolveUser with ChillFi3 users table (MariaDB)', function () {
  this.timeout(30_000);
  let server: TestServer;
  let chillfi3: ChillFi3Database;
  let pool: mysql.Pool;
  let auth: AuthClient;
  let oidcClient: oidc.Configuration;
  let instanceId: string;
  let app: Awaited<ReturnType<typeof listen>>;

  before(async function () {
    [server, chillfi3] = await Promise.all([startTestServer('sqlite'), scratchChillFi3()]);
    pool = mysql.createPool({ uri: chillfi3.url });
    let instance;
    ({ auth, oidcClient, instance } = await sdkClientFor(server, { legacy: { secret: JWT_SECRET }, resolveUser: resolveLocalUsers(chillfi3Users(pool)) }));
    instanceId = instance.id;
    const routes = express();
    routes.get('/api/me', auth.express(), (req, res) => res.json({ user: (req as AuthenticatedRequest).user }));
    app = await listen(routes);
  });
  after(async function () {
    await app?.close();
    auth?.close();
    await pool?.end();
    await chillfi3?.drop();
    await server?.close();
  });

  async function me(token: string): Promise<{ status: number; user?: AuthUser; error?: string }> {
    const response = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, ...((await response.json()) as { user?: AuthUser; error?: string }) };
  }

  async function row(where: string, value: unknown): Promise<Record<string, unknown> | undefined> {
    const [rows] = await pool.query(`SELECT * FROM users WHERE ${where} = ?`, [value]);
    return (rows as Record<string, unknown>[])[0];
  }

  const localIdAtAuthServer = async (accountId: string) => (await server.services.instances.accessOf(instanceId, accountId))?.localUserId;

  it("gives an imported user (local id claim) their row: numeric id, ChillFi3's columns, no password; is_admin follows the role", async function () {
    await chillfi3.insert([{ id: 7, username: 'nina', display_name: 'Nina L.', password: bcryptOf('old password'), bio: 'Folk', is_admin: false }]);
    await chillfi3.query("UPDATE users SET theme = 'light' WHERE id = 7");
    const account = await addAccount(server, 'nina');
    await server.services.instances.grantAccess(instanceId, account.id, 'admin', 7);
    const { tokens } = await codeFlow(oidcClient, { username: 'nina' });
    expect(decodeJwt(tokens.access_token)).to.include({ chillfi3_user_id: 7 });

    const answer = await me(tokens.access_token);
    expect(answer.status).to.equal(200);
    expect(answer.user).to.include({ id: 7, username: 'nina', display_name: 'Nina L.', bio: 'Folk', theme: 'light', is_admin: true, role: 'admin', sub: account.id });
    expect(answer.user).to.have.property('profile_image_url', null);
    expect(answer.user).to.not.have.property('password');
    expect((await row('id', 7))?.is_admin, "kept in the row for ChillFi3's own admin checks").to.equal(1);
  });

  it('finds a user without a local id by username and records the id back, so their next token carries it', async function () {
    await chillfi3.insert([{ id: 20, username: 'Oscar', password: bcryptOf('old password'), is_admin: true }]);
    const account = await addAccount(server, 'oscar');
    const { tokens } = await codeFlow(oidcClient, { username: 'oscar' });
    expect(decodeJwt(tokens.access_token)).to.not.have.property('chillfi3_user_id');

    expect((await me(tokens.access_token)).user).to.include({ id: 20, username: 'Oscar', is_admin: false, role: 'member' });
    expect(await localIdAtAuthServer(account.id)).to.equal(20);
    expect((await row('id', 20))?.is_admin, 'a member on the auth server is no admin here').to.equal(0);
    const next = await oidc.refreshTokenGrant(oidcClient, tokens.refresh_token as string);
    expect(decodeJwt(next.access_token)).to.include({ chillfi3_user_id: 20 });
    expect((await me(next.access_token)).user).to.include({ id: 20 });
  });

  it('creates the row of a first sign-in, without a password, once however many requests arrive together', async function () {
    const account = await addAccount(server, 'pia');
    const { tokens } = await codeFlow(oidcClient, { username: 'pia' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => me(tokens.access_token)));
    const ids = new Set(answers.map((answer) => answer.user?.id));
    expect(ids.size).to.equal(1);
    const [id] = [...ids];
    expect(id).to.be.a('number');
    const created = await row('username', 'pia');
    expect(created).to.include({ id, display_name: 'pia display', password: null, is_admin: 0 });
    const [counted] = await pool.query("SELECT COUNT(*) AS n FROM users WHERE username = 'pia'");
    expect((counted as { n: number }[])[0]?.n).to.equal(1);
    expect(await localIdAtAuthServer(account.id)).to.equal(id);
  });

  it('serves a first sign-in while the auth server is away (offline check): the row is made, recording waits for a later try', async function () {
    const account = await addAccount(server, 'rosa');
    const { tokens } = await codeFlow(oidcClient, { username: 'rosa' });
    await auth.verifyAccessToken(tokens.access_token); // the signing keys are cached (no user resolved yet)
    const restart = await stopListening(server);
    let user: AuthUser;
    try {
      ({ user } = await auth.validateToken(tokens.access_token, { policy: 'offline' }));
    } finally {
      await restart();
    }
    expect(user.id).to.equal((await row('username', 'rosa'))?.id);
    expect(await localIdAtAuthServer(account.id), 'not yet: the next try waits a minute').to.equal(null);
  });

  it("does not hand a row over to another account when the auth server links it to someone else (403)", async function () {
    await chillfi3.insert([{ id: 30, username: 'quinn', password: bcryptOf('old password') }]);
    const previous = await addAccount(server, 'quinn-before-rename');
    await server.services.instances.grantAccess(instanceId, previous.id, 'member', 30);
    await addAccount(server, 'quinn');
    const { tokens } = await codeFlow(oidcClient, { username: 'quinn' });
    const answers = await Promise.all(Array.from({ length: 4 }, () => me(tokens.access_token)));
    for (const answer of [...answers, await me(tokens.access_token)]) expect(answer).to.include({ status: 403, error: 'local_user_conflict' });
  });

  it("leaves the instance's own service token alone: it belongs to no user, so no row", async function () {
    const { user } = await auth.validateToken(await auth.getServiceToken());
    expect(user.id).to.equal(null);
    expect(await row('username', user.username)).to.equal(undefined);
  });

  it('maps a legacy ChillFi3 token to its row by userId, and refuses one whose row is gone', async function () {
    const legacy = (userId: number) =>
      new SignJWT({ userId, username: 'nina', isAdmin: 1 }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setExpirationTime('7d').sign(new TextEncoder().encode(JWT_SECRET));
    expect((await me(await legacy(7))).user).to.include({ id: 7, theme: 'light', source: 'legacy', is_admin: true });
    expect(await me(await legacy(999))).to.include({ status: 403, error: 'invalid_token' });
  });
});
