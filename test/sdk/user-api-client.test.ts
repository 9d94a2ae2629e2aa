// The SDK's client of the user API (src/sdk/user-api-client.ts) against a real auth server: what ChillFi3's admin
// panel does with it (register with the "Admin user" box, show a set-password link), as whom each call is made
// (a socket's or a request's signed-in user, a token, the instance itself), and refusals as UserApiError.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { NewInstance } from '../../src/instances/instance-store.js';
import { ADMIN_SCOPE, DEFAULT_SCOPES, USERS_READ_SCOPE } from '../../src/instances/instance-store.js';
import { UserApiError, type AuthClient, type UserApiCaller } from '../../src/sdk/index.js';
import type { Actor } from '../../src/admin/account-operations.js';
import { PASSWORD } from '../support/fixtures.js';
import { addAccount, codeFlow, sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';

const OPERATOR: Actor = { accountId: null, via: 'cli' };
const NEW_PASSWORD = 'a brand new passphrase';

async function refusal(promise: Promise<unknown>): Promise<UserApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(UserApiError);
    return error as UserApiError;
  }
  throw new Error('expected a refusal');
}

/** What Socket.IO gives the server for a client that connected with io(url, { auth: { token } }). */
function socketWith(token: string): UserApiCaller {
  return { handshake: { auth: { token }, headers: {} } };
}

describe('sdk: the user API client (authClient.users)', function () {
  let server: TestServer;
  /** ChillFi3: its own token may read its users. */
  let music: { auth: AuthClient; instance: { id: string }; oidcClient: oidc.Configuration };
  /** An instance trusted with the admin scope, where server admins sign in with it. */
  let console: { auth: AuthClient; oidcClient: oidc.Configuration };
  /** Music's admin, signed in there. */
  let musicAdmin: string;

  const scopes = (...extra: string[]): Partial<NewInstance> => ({ scopes: [...DEFAULT_SCOPES.split(' '), ...extra] });

  before(async function () {
    server = await startTestServer('sqlite');
    music = await sdkClientFor(server, {}, scopes(USERS_READ_SCOPE));
    console = await sdkClientFor(server, {}, scopes(USERS_READ_SCOPE, ADMIN_SCOPE));
    const admin = await addAccount(server, 'music-admin');
    await server.services.accessOperations.grant(music.instance.id, admin.id, 'admin', 1, OPERATOR);
    musicAdmin = (await codeFlow(music.oidcClient, { username: 'music-admin' })).tokens.access_token;
  });
  after(async function () {
    music?.auth.close();
    console?.auth.close();
    await server?.close();
  });

  it('registers a user ticked "Admin user" as admin of this instance, as the socket\'s signed-in admin', async function () {
    const { user, passwordLink } = await music.auth.users.register({ username: 'new-admin', role: 'admin' }, { as: socketWith(musicAdmin) });
    expect(user).to.include({ username: 'new-admin', isAdmin: false });
    const [access] = await server.services.accessOperations.list({ accountId: user.id });
    expect(access).to.include({ instanceId: music.instance.id, role: 'admin' });
    expect(passwordLink, 'a URL the panel can show').to.be.a('string').and.match(new RegExp(`^${server.issuer}/set-password\\?token=`));
    expect(`Set a password: ${passwordLink}`).to.not.contain('[object Object]');
  });

  it('registers a member with a password, without a link, as a request\'s bearer token', async function () {
    const request = { headers: { authorization: `Bearer ${musicAdmin}` } };
    const registered = await music.auth.users.register({ username: 'new-member', password: NEW_PASSWORD }, { as: request });
    expect(registered.passwordLink).to.equal(null);
    const [access] = await server.services.accessOperations.list({ accountId: registered.user.id });
    expect(access).to.include({ role: 'member' });
    expect((await music.auth.users.read(registered.user.id, { as: request })).username).to.equal('new-member');
  });

  it('reads this instance\'s users with the instance\'s own token when no caller is given, and registers nobody so', async function () {
    const member = await addAccount(server, 'read-by-service');
    await server.services.accessOperations.grant(music.instance.id, member.id, 'member', null, OPERATOR);
    expect(await music.auth.users.read(member.id)).to.include({ id: member.id, username: 'read-by-service' });
    const refused = await refusal(music.auth.users.register({ username: 'by-the-instance' }));
    expect(refused.status).to.equal(403);
  });

  it('updates, makes a set-password link for and deletes a user, as a server admin with a token of scope admin', async function () {
    await addAccount(server, 'root', { isAdmin: true });
    const token = (await codeFlow(console.oidcClient, { username: 'root', scope: `openid profile ${ADMIN_SCOPE}` })).tokens.access_token;
    const target = await addAccount(server, 'managed');
    const updated = await console.auth.users.update(target.id, { displayName: 'Managed', bio: null }, { as: token });
    expect(updated).to.include({ displayName: 'Managed', bio: null });
    const link = await console.auth.users.passwordLink(target.id, { as: token });
    expect(link).to.match(/\/set-password\?token=[\w-]{43}$/);
    expect(await server.services.authenticator.signIn('managed', PASSWORD), 'the password stays until the link is used').to.include({ ok: true });
    await console.auth.users.delete(target.id, { as: token });
    expect(await server.services.accounts.find(target.id)).to.equal(null);
    expect((await refusal(console.auth.users.read(target.id, { as: token }))).status).to.equal(404);
  });

  it("changes the socket's own user's password with the current one; a wrong one is refused with the reason", async function () {
    const owner = await addAccount(server, 'changes-own');
    await server.services.accessOperations.grant(music.instance.id, owner.id, 'member', null, OPERATOR);
    const token = (await codeFlow(music.oidcClient, { username: 'changes-own' })).tokens.access_token;
    const wrong = await refusal(music.auth.users.changePassword(owner.id, { current: 'not it', password: NEW_PASSWORD }, { as: socketWith(token) }));
    expect(wrong.status).to.equal(400);
    await music.auth.users.changePassword(owner.id, { current: PASSWORD, password: NEW_PASSWORD }, { as: socketWith(token) });
    expect(await server.services.authenticator.signIn('changes-own', NEW_PASSWORD)).to.include({ ok: true });
  });

  it('says why a call is refused: status, title and the detail naming the field', async function () {
    const caller = { as: socketWith(musicAdmin) };
    const taken = await refusal(music.auth.users.register({ username: 'MUSIC-ADMIN' }, caller));
    expect(taken.status).to.equal(409);
    expect(taken.message).to.equal(taken.detail).and.to.be.a('string');
    const bad = await refusal(music.auth.users.register({ username: 'x', role: 'owner' as 'admin' }, caller));
    expect(bad.status).to.equal(400);
    expect(bad.detail).to.contain('role');
    const member = await addAccount(server, 'no-link-for-instance-admins');
    await server.services.accessOperations.grant(music.instance.id, member.id, 'member', null, OPERATOR);
    expect((await refusal(music.auth.users.passwordLink(member.id, caller))).status, 'links need server power').to.equal(403);
  });
});
