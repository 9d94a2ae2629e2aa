import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { expect } from 'chai';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import type { Actor } from '../../src/admin/account-operations.js';
import { ADMIN_SCOPE, DEFAULT_SCOPES, USERS_READ_SCOPE } from '../../src/instances/instance-store.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { addAccount, addInstance, codeFlow, PASSWORD } from '../support/fixtures.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR: Actor = { accountId: null, via: 'cli' };
const NEW_PASSWORD = 'a brand new passphrase';
/** What an instance allowed the admin scope asks for when it signs its admins in. */
const ADMIN_TOKEN_SCOPE = `openid profile ${ADMIN_SCOPE}`;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { detail?: string };
}

for (const backend of BACKENDS) {
  describe(`user API (${backend})`, function () {
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof backchannelReceiver>>;
    let openApi: OpenApiCheck;
    /** Where users sign in; allowed users:read for its own token. */
    let home: Awaited<ReturnType<typeof addInstance>>;
    /** Another instance, with the default scopes. */
    let other: Awaited<ReturnType<typeof addInstance>>;
    /** A first-party admin page allowed the admin scope for its users' tokens (and users:read for its own). */
    let adminPage: Awaited<ReturnType<typeof addInstance>>;

    before(async function () {
      server = await startTestServer(backend);
      receiver = await backchannelReceiver();
      home = await addInstance(server, { backchannelLogoutUri: receiver.url, scopes: [...DEFAULT_SCOPES.split(' '), USERS_READ_SCOPE] });
      other = await addInstance(server);
      adminPage = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), USERS_READ_SCOPE, ADMIN_SCOPE] });
      const served = await fetch(`${server.url}/openapi.json`);
      expect(served.status).to.equal(200);
      openApi = new OpenApiCheck((await served.json()) as OpenApiDocument);
    });
    after(async function () {
      receiver.server.close();
      await server.close();
    });

    /** Calls the API; every answer must be one the served OpenAPI document describes. */
    async function api(
      method: string,
      path: string,
      { token, body, headers = {} }: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<Answer> {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      openApi.check(method, response.url, response.status, response.headers.get('content-type'), text);
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
    }

    /** A new account signed in on `instance` (home by default) in a browser of its own, with its tokens. */
    async function signedIn(username: string, { instance = home, isAdmin = false, scope = undefined as string | undefined } = {}) {
      const account = await addAccount(server, username, { isAdmin });
      const signIn = await codeFlow(instance.client, { username, scope });
      return { account, token: signIn.tokens.access_token, agent: signIn.agent, tokens: signIn.tokens };
    }

    /** A new admin of this server, signed in on the admin page with a token of scope admin: power over every account. */
    function poweredAdmin(username: string) {
      return signedIn(username, { instance: adminPage, isAdmin: true, scope: ADMIN_TOKEN_SCOPE });
    }

    /** Another sign-in of an existing account, in a browser of its own: a second session. */
    async function anotherSession(username: string, instance = home) {
      return (await codeFlow(instance.client, { username })).tokens.access_token;
    }

    /** An account that exists but has never used home: nobody at home may know of it. */
    async function elsewhere(username: string) {
      return (await signedIn(username, { instance: other })).account;
    }

    async function instanceAdmin(username: string) {
      const account = await addAccount(server, username);
      await server.services.accessOperations.grant(home.instance.id, account.id, 'admin', null, OPERATOR);
      return { account, token: await anotherSession(username) };
    }

    async function serviceToken(instance = home, scope = USERS_READ_SCOPE) {
      return (await oidc.clientCredentialsGrant(instance.client, { scope })).access_token;
    }

    describe('the user themself', function () {
      it('reads and edits their own profile', async function () {
        const { account, token } = await signedIn('self-editor');
        const read = await api('GET', `/users/${account.id}`, { token });
        expect(read.status).to.equal(200);
        expect(read.body).to.include({ id: account.id, username: 'self-editor', displayName: 'self-editor display', isAdmin: false });
        expect(read.headers.get('cache-control')).to.equal('no-store');
        const changes = { displayName: 'Self Editor', email: 'self@example.org', bio: 'Plays the ukulele', picture: 'https://example.org/me.png' };
        const edited = await api('PUT', `/users/${account.id}`, { token, body: changes });
        expect(edited.status).to.equal(200);
        expect(edited.body).to.include(changes);
        expect(await server.services.accounts.get(account.id)).to.include(changes);
        const cleared = await api('PUT', `/users/${account.id}`, { token, body: { bio: null, email: null } });
        expect(cleared.body).to.include({ bio: null, email: null, displayName: 'Self Editor' });
        const [audit] = await server.services.audit.recent(1, account.id);
        expect(audit).to.include({ action: 'account.profile_updated' });
      });

      it("cannot see anyone else's profile, nor delete their own account, nor register anyone", async function () {
        const { account, token } = await signedIn('nosy');
        const neighbour = (await signedIn('neighbour')).account;
        for (const [method, body] of [['GET'], ['PUT', { bio: 'hi' }], ['DELETE']] as const) {
          expect((await api(method, `/users/${neighbour.id}`, { token, body })).status, method).to.equal(404);
        }
        expect((await api('GET', `/users/${neighbour.id}/sessions`, { token })).status).to.equal(404);
        expect((await api('PUT', `/users/${neighbour.id}/password`, { token, body: { current: PASSWORD, password: NEW_PASSWORD } })).status).to.equal(404);
        const absent = await api('GET', '/users/0190a000-0000-7000-8000-000000000000', { token });
        expect(absent.status).to.equal(404);
        expect(absent.body.detail).to.equal((await api('GET', `/users/${neighbour.id}`, { token })).body.detail);
        expect((await api('DELETE', `/users/${account.id}`, { token })).status).to.equal(403);
        expect((await api('POST', '/auth/register', { token, body: { username: 'by-nosy' } })).status).to.equal(403);
        expect(await server.services.accounts.findByUsername('by-nosy')).to.equal(null);
      });
    });

    describe('an admin of this server, with a token of scope admin', function () {
      it('reads, edits and deletes anyone, and registers accounts', async function () {
        const { token } = await poweredAdmin('root');
        const stranger = await elsewhere('stranger');
        expect((await api('GET', `/users/${stranger.id}`, { token })).body).to.include({ username: 'stranger' });
        expect((await api('PUT', `/users/${stranger.id}`, { token, body: { displayName: 'Renamed' } })).body).to.include({ displayName: 'Renamed' });
        const registered = await api('POST', '/auth/register', { token, body: { username: 'by-root', password: NEW_PASSWORD, email: 'new@example.org' } });
        expect(registered.status).to.equal(201);
        expect(registered.body).to.not.have.property('passwordLink');
        const user = registered.body.user as { id: string };
        expect(registered.headers.get('location')).to.equal(`/users/${user.id}`);
        expect((await api('GET', `/users/${user.id}`, { token })).body).to.include({ username: 'by-root', email: 'new@example.org' });
        expect((await api('DELETE', `/users/${stranger.id}`, { token })).status).to.equal(204);
        expect((await api('GET', `/users/${stranger.id}`, { token })).status).to.equal(404);
      });

      it('deletes a signed-in account: its instances are told by back-channel logout and its tokens stop working', async function () {
        const { token } = await poweredAdmin('root-deleter');
        const victim = await signedIn('deleted-by-api');
        const logouts = receiver.tokens.length;
        expect((await api('DELETE', `/users/${victim.account.id}`, { token })).status).to.equal(204);
        expect(receiver.tokens.slice(logouts).map((logout) => decodeJwt(logout).sub)).to.include(victim.account.id);
        expect((await oidc.tokenIntrospection(home.client, victim.token)).active).to.equal(false);
        expect((await api('GET', `/users/${victim.account.id}`, { token: victim.token })).status).to.equal(401);
        expect(await server.services.accounts.find(victim.account.id)).to.equal(null);
      });

      it('sets a password (the account is signed out everywhere) and clears one with a set-password link', async function () {
        const { token } = await poweredAdmin('root-resetter');
        const victim = await signedIn('reset-by-api');
        const set = await api('PUT', `/users/${victim.account.id}/password`, { token, body: { password: NEW_PASSWORD } });
        expect(set.status).to.equal(204);
        expect((await api('GET', `/users/${victim.account.id}`, { token: victim.token })).status).to.equal(401);
        expect((await api('PUT', `/users/${victim.account.id}/password`, { token, body: { password: 'short' } })).body.detail).to.contain('at least 8');
        const cleared = await api('PUT', `/users/${victim.account.id}/password`, { token, body: { password: null } });
        expect(cleared.status).to.equal(200);
        expect((cleared.body.passwordLink as { url: string }).url).to.match(new RegExp(`^${server.issuer}/set-password\\?token=[\\w-]{43}$`));
        expect(cleared.headers.get('cache-control')).to.equal('no-store');
        expect(await server.services.accounts.hasPassword(victim.account.id)).to.equal(false);
        const withCurrent = await api('PUT', `/users/${victim.account.id}/password`, { token, body: { current: 'x', password: NEW_PASSWORD } });
        expect(withCurrent.status).to.equal(400);
        expect(withCurrent.body.detail).to.contain('Unrecognized key: "current"');
      });

      it('registers an account without a password: the answer carries its set-password link, once', async function () {
        const { token } = await poweredAdmin('root-registrar');
        const registered = await api('POST', '/auth/register', { token, body: { username: 'linked-user', displayName: 'Linked' } });
        expect(registered.status).to.equal(201);
        const user = registered.body.user as { id: string };
        expect((registered.body.passwordLink as { url: string }).url).to.match(/\/set-password\?token=[\w-]{43}$/);
        expect(await server.services.accounts.hasPassword(user.id)).to.equal(false);
        expect((await api('GET', `/users/${user.id}`, { token })).body).to.not.have.property('passwordLink');
      });
      it('makes a set-password link for anyone but themself: the password stays until it is used, older links stop working', async function () {
        const { account: root, token } = await poweredAdmin('root-linker');
        const owner = await signedIn('link-owner');
        const first = await api('POST', `/users/${owner.account.id}/password-link`, { token });
        expect(first.status).to.equal(200);
        expect(first.headers.get('cache-control')).to.equal('no-store');
        const { url } = first.body.passwordLink as { url: string };
        expect(url).to.match(new RegExp(`^${server.issuer}/set-password\\?token=[\\w-]{43}$`));
        expect(await server.services.authenticator.signIn('link-owner', PASSWORD)).to.include({ ok: true });
        const second = (await api('POST', `/users/${owner.account.id}/password-link`, { token })).body.passwordLink as { url: string };
        const secretOf = (link: string) => new URL(link).searchParams.get('token')!;
        expect(await server.services.passwordLinks.accountOf(secretOf(url))).to.equal(null);
        expect(await server.services.passwordLinks.accountOf(secretOf(second.url))).to.equal(owner.account.id);
        const own = await api('POST', `/users/${root.id}/password-link`, { token });
        expect(own.status).to.equal(400);
        expect((await api('POST', '/users/0190a000-0000-7000-8000-000000000000/password-link', { token })).status).to.equal(404);
      });

      it('registers an admin of the instance the token was issued to when asked for role admin', async function () {
        const { token } = await poweredAdmin('root-admin-maker');
        const registered = await api('POST', '/auth/register', { token, body: { username: 'made-admin', role: 'admin' } });
        expect(registered.status).to.equal(201);
        const access = await server.services.accessOperations.list({ accountId: (registered.body.user as { id: string }).id });
        expect(access.map(({ instanceId, role }) => ({ instanceId, role }))).to.deep.equal([{ instanceId: adminPage.instance.id, role: 'admin' }]);
        expect((await api('POST', '/auth/register', { token, body: { username: 'made-owner', role: 'owner' } })).status).to.equal(400);
      });
    });

    describe('an admin of this server, with a token without the admin scope', function () {
      /** Every call with power over `id`'s account, with a body each would take. */
      const powers = (id: string, sessionUid: string): [string, string, unknown?][] => [
        ['GET', `/users/${id}`],
        ['PUT', `/users/${id}`, { displayName: 'Taken over' }],
        ['PUT', `/users/${id}/password`, { password: NEW_PASSWORD }],
        ['PUT', `/users/${id}/password`, { password: null }],
        ['GET', `/users/${id}/sessions`],
        ['DELETE', `/users/${id}/sessions/${sessionUid}`],
        ['DELETE', `/users/${id}/sessions`],
        ['POST', `/users/${id}/password-link`],
        ['DELETE', `/users/${id}`],
      ];

      /** An account signed in at home, with the uid of its session. */
      async function victim(username: string, isAdmin = false) {
        const signIn = await signedIn(username, { isAdmin });
        const [session] = await server.services.accountSessions.list(signIn.account.id);
        return { ...signIn, sessionUid: session!.uid };
      }

      /** Nothing those calls could change did change: the password, the profile, the session, the account. */
      async function untouched({ account, token }: { account: { id: string; username: string }; token: string }) {
        expect(await server.services.authenticator.signIn(account.username, PASSWORD)).to.include({ ok: true });
        expect((await server.services.accounts.get(account.id)).displayName).to.equal(`${account.username} display`);
        expect((await oidc.tokenIntrospection(home.client, token)).active).to.equal(true);
        expect(await server.services.accountSessions.list(account.id)).to.have.length(1);
        const links = await server.services.audit.query({ accountId: account.id, actions: ['account.password_link_issued'], limit: 1 });
        expect(links.events, 'no set-password link made for it').to.have.length(0);
      }

      it("is an ordinary user at an instance not trusted with it: nobody else's password, sessions or account, other admins' neither", async function () {
        const root = await signedIn('root-at-home', { isAdmin: true });
        expect(decodeJwt(root.token).scope).to.not.contain(ADMIN_SCOPE);
        for (const target of [await victim('bob-at-home'), await victim('admin-at-home', true)]) {
          for (const [method, path, body] of powers(target.account.id, target.sessionUid)) {
            expect((await api(method, path, { token: root.token, body })).status, `${method} ${path} ${JSON.stringify(body)}`).to.equal(404);
          }
          await untouched(target);
        }
        const registered = await api('POST', '/auth/register', { token: root.token, body: { username: 'by-root-at-home', password: NEW_PASSWORD } });
        expect(registered.status).to.equal(403);
        expect(await server.services.accounts.findByUsername('by-root-at-home')).to.equal(null);
        expect((await api('GET', '/admin/users', { token: root.token })).status, 'as the admin API answers').to.equal(403);
        // Their own account as anyone's: the password with the current one only.
        const withoutCurrent = await api('PUT', `/users/${root.account.id}/password`, { token: root.token, body: { password: null } });
        expect(withoutCurrent.status).to.equal(400);
        expect(withoutCurrent.body.detail).to.match(/^current: /);
        expect((await api('GET', `/users/${root.account.id}`, { token: root.token })).body).to.include({ username: 'root-at-home', isAdmin: true });
      });

      it("is an admin of that instance where their role there says so, and no more", async function () {
        const root = await addAccount(server, 'root-home-admin', { isAdmin: true });
        await server.services.accessOperations.grant(home.instance.id, root.id, 'admin', null, OPERATOR);
        const token = await anotherSession(root.username);
        const bob = await victim('bob-of-home-admin');
        const stranger = await elsewhere('stranger-of-home-admin');
        expect((await api('GET', `/users/${bob.account.id}`, { token })).body).to.include({ username: 'bob-of-home-admin' });
        for (const [method, path, body] of powers(bob.account.id, bob.sessionUid).slice(1)) {
          expect((await api(method, path, { token, body })).status, `${method} ${path} ${JSON.stringify(body)}`).to.equal(403);
        }
        await untouched(bob);
        expect((await api('GET', `/users/${stranger.id}`, { token })).status).to.equal(404);
        const registered = await api('POST', '/auth/register', { token, body: { username: 'by-root-home-admin', password: NEW_PASSWORD } });
        expect(registered.status).to.equal(201);
        const access = await server.services.accessOperations.list({ accountId: (registered.body.user as { id: string }).id });
        expect(access.map(({ instanceId, role }) => ({ instanceId, role }))).to.deep.equal([{ instanceId: home.instance.id, role: 'member' }]);
      });

      it('has the power back with a token of scope admin from an instance allowed it, and only with that scope', async function () {
        await addAccount(server, 'root-two-tokens', { isAdmin: true });
        const withoutScope = (await codeFlow(adminPage.client, { username: 'root-two-tokens' })).tokens.access_token;
        const powered = (await codeFlow(adminPage.client, { username: 'root-two-tokens', scope: ADMIN_TOKEN_SCOPE })).tokens.access_token;
        const bob = await victim('bob-of-two-tokens');
        expect((await api('PUT', `/users/${bob.account.id}/password`, { token: withoutScope, body: { password: NEW_PASSWORD } })).status).to.equal(404);
        await untouched(bob);
        expect((await api('GET', `/users/${bob.account.id}/sessions`, { token: powered })).body.sessions).to.have.length(1);
        expect((await api('PUT', `/users/${bob.account.id}/password`, { token: powered, body: { password: NEW_PASSWORD } })).status).to.equal(204);
        expect((await oidc.tokenIntrospection(home.client, bob.token)).active).to.equal(false);
        const again = await victim('bob-of-two-tokens-2');
        expect((await api('DELETE', `/users/${again.account.id}/sessions/${again.sessionUid}`, { token: powered })).status).to.equal(204);
        expect((await api('DELETE', `/users/${again.account.id}`, { token: powered })).status).to.equal(204);
        expect(await server.services.accounts.find(again.account.id)).to.equal(null);
      });

      it("gives an instance's own token no admin power, whatever scopes the instance is allowed", async function () {
        const token = (await oidc.clientCredentialsGrant(adminPage.client, { scope: `${USERS_READ_SCOPE} ${ADMIN_SCOPE}` })).access_token;
        expect(decodeJwt(token).scope).to.equal(USERS_READ_SCOPE);
        const member = await signedIn('member-of-admin-page', { instance: adminPage });
        expect((await api('GET', `/users/${member.account.id}`, { token })).body).to.include({ username: 'member-of-admin-page' });
        for (const [method, path, body] of powers(member.account.id, 'any').slice(1)) {
          expect((await api(method, path, { token, body })).status, `${method} ${path}`).to.equal(403);
        }
        expect((await api('POST', '/auth/register', { token, body: { username: 'by-admin-page' } })).status).to.equal(403);
      });
    });

    describe('an admin of the instance the token was issued to', function () {
      it('registers accounts with access to that instance only, as members with their local id', async function () {
        const { token } = await instanceAdmin('home-admin');
        const registered = await api('POST', '/auth/register', { token, body: { username: 'home-recruit', password: NEW_PASSWORD, localUserId: 42 } });
        expect(registered.status).to.equal(201);
        const user = registered.body.user as { id: string };
        const access = await server.services.accessOperations.list({ accountId: user.id });
        expect(access.map(({ instanceId, role, localUserId }) => ({ instanceId, role, localUserId }))).to.deep.equal([
          { instanceId: home.instance.id, role: 'member', localUserId: 42 },
        ]);
        const taken = await api('POST', '/auth/register', { token, body: { username: 'HOME-RECRUIT', password: NEW_PASSWORD } });
        expect(taken.status).to.equal(409);
      });

      it("registers admins of that instance (ChillFi3's \"Admin user\" box), whose tokens there say so", async function () {
        const { token } = await instanceAdmin('home-admin-maker');
        const registered = await api('POST', '/auth/register', { token, body: { username: 'home-co-admin', password: NEW_PASSWORD, role: 'admin' } });
        expect(registered.status).to.equal(201);
        const access = await server.services.accessOperations.list({ accountId: (registered.body.user as { id: string }).id });
        expect(access.map(({ instanceId, role }) => ({ instanceId, role }))).to.deep.equal([{ instanceId: home.instance.id, role: 'admin' }]);
        const { tokens } = await codeFlow(home.client, { username: 'home-co-admin', password: NEW_PASSWORD });
        expect(tokens.claims()).to.include({ chillfi3_role: 'admin' });
      });

      it('makes no set-password links, for its users nor for itself', async function () {
        const { account, token } = await instanceAdmin('home-admin-no-links');
        const member = (await signedIn('home-member-no-link')).account;
        expect((await api('POST', `/users/${member.id}/password-link`, { token })).status).to.equal(403);
        expect((await api('POST', `/users/${account.id}/password-link`, { token })).status).to.equal(403);
        const stranger = await elsewhere('stranger-no-link');
        expect((await api('POST', `/users/${stranger.id}/password-link`, { token })).status).to.equal(404);
      });

      it("reads that instance's users but not others', and changes nobody", async function () {
        const { token } = await instanceAdmin('home-admin-reader');
        const member = (await signedIn('home-member')).account;
        const stranger = await elsewhere('not-at-home');
        expect((await api('GET', `/users/${member.id}`, { token })).body).to.include({ username: 'home-member' });
        expect((await api('GET', `/users/${stranger.id}`, { token })).status).to.equal(404);
        expect((await api('PUT', `/users/${member.id}`, { token, body: { bio: 'x' } })).status).to.equal(403);
        expect((await api('DELETE', `/users/${member.id}`, { token })).status).to.equal(403);
        expect((await api('GET', `/users/${member.id}/sessions`, { token })).status).to.equal(403);
        expect((await api('PUT', `/users/${member.id}/password`, { token, body: { password: NEW_PASSWORD } })).status).to.equal(403);
      });

      it('is a plain member with a token issued to another instance', async function () {
        const { account } = await instanceAdmin('admin-at-home-only');
        const member = (await signedIn('home-member-2')).account;
        const token = await anotherSession(account.username, other);
        expect((await api('GET', `/users/${member.id}`, { token })).status).to.equal(404);
        expect((await api('POST', '/auth/register', { token, body: { username: 'via-other' } })).status).to.equal(403);
      });
    });

    describe("an instance's own token", function () {
      it('with users:read, reads the profiles of its users and nobody else, and changes nothing', async function () {
        const token = await serviceToken();
        expect(decodeJwt(token)).to.include({ scope: USERS_READ_SCOPE, client_id: home.instance.clientId });
        const member = (await signedIn('served-member')).account;
        const stranger = await elsewhere('served-stranger');
        expect((await api('GET', `/users/${member.id}`, { token })).body).to.include({ username: 'served-member' });
        expect((await api('GET', `/users/${stranger.id}`, { token })).status).to.equal(404);
        expect((await api('PUT', `/users/${member.id}`, { token, body: { bio: 'x' } })).status).to.equal(403);
        expect((await api('DELETE', `/users/${member.id}`, { token })).status).to.equal(403);
        expect((await api('GET', `/users/${member.id}/sessions`, { token })).status).to.equal(403);
        expect((await api('POST', '/auth/register', { token, body: { username: 'by-service' } })).status).to.equal(403);
      });

      it('without users:read is refused with insufficient_scope; an instance not allowed it cannot get it', async function () {
        const refused = await oidc.clientCredentialsGrant(other.client, { scope: USERS_READ_SCOPE }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).to.have.property('error', 'invalid_scope');
        const member = (await signedIn('scopeless-target', { instance: other })).account;
        for (const token of [await serviceToken(other, 'openid'), await serviceToken(home, 'openid')]) {
          const answer = await api('GET', `/users/${member.id}`, { token });
          expect(answer.status).to.equal(403);
          expect(answer.headers.get('www-authenticate')).to.equal(
            'Bearer realm="chillfi3-auth", error="insufficient_scope", error_description="this needs an access token with scope users:read", scope="users:read"',
          );
        }
      });

      it('is allowed users:read only with the client_credentials grant, and no scope this server does not know', async function () {
        const register = (scopes: string[], grantTypes = ['authorization_code', 'client_credentials']) =>
          server.services.instances.create({ name: 'Scoped', redirectUris: ['http://127.0.0.1:9/callback'], grantTypes, scopes }).then(
            () => 'registered',
            (error: Error) => error.message,
          );
        expect(await register(['openid', USERS_READ_SCOPE], ['authorization_code'])).to.contain('needs the client_credentials grant type');
        expect(await register(['openid', 'users:write'])).to.equal('unsupported scope "users:write"');
        expect(await register(['openid', USERS_READ_SCOPE])).to.equal('registered');
      });

      it("never reaches a user's token, whatever the sign-in asks for", async function () {
        const account = await addAccount(server, 'asks-for-more');
        const { tokens } = await codeFlow(home.client, { username: account.username, scope: `openid profile ${USERS_READ_SCOPE}` });
        expect(String(decodeJwt(tokens.access_token).scope).split(' ')).to.not.include(USERS_READ_SCOPE);
        const member = (await signedIn('home-member-3')).account;
        expect((await api('GET', `/users/${member.id}`, { token: tokens.access_token })).status).to.equal(404);
      });
    });

    describe('access tokens', function () {
      it('are required: 401 with an RFC 6750 challenge, problem+json, before the provider sees /auth/register', async function () {
        const missing = await api('POST', '/auth/register', { body: { username: 'anon' } });
        expect(missing.status).to.equal(401);
        expect(missing.headers.get('www-authenticate')).to.equal('Bearer realm="chillfi3-auth"');
        expect(missing.headers.get('content-type')).to.contain('application/problem+json');
        const folded = await fetch(`${server.url}/AUTH/REGISTER`, { method: 'POST' });
        expect(folded.status).to.equal(401);
        for (const [method, path, allow] of [['GET', '/auth/register', 'POST'], ['PATCH', '/users/x', 'HEAD, GET, PUT, DELETE']]) {
          const wrongMethod = await fetch(`${server.url}${path}`, { method });
          expect(wrongMethod.status, `${method} ${path}`).to.equal(405);
          expect(wrongMethod.headers.get('allow')).to.equal(allow);
          expect(wrongMethod.headers.get('content-type')).to.contain('application/problem+json');
        }
      });

      it('that are not ours, not access tokens, or malformed are refused as invalid_token', async function () {
        const { account, tokens } = await signedIn('token-tester');
        const { privateKey, publicKey } = await generateKeyPair('ES256');
        const forged = await new SignJWT({ client_id: home.instance.clientId, scope: 'openid' })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: (await exportJWK(publicKey)).kid ?? 'forged' })
          .setIssuer(server.issuer)
          .setSubject(account.id)
          .setAudience(home.instance.clientId)
          .setJti('forged-jti')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
        for (const authorization of [`Bearer ${forged}`, `Bearer ${tokens.id_token}`, 'Bearer not-a-token', `Basic ${tokens.access_token}`]) {
          const answer = await api('GET', `/users/${account.id}`, { headers: { authorization } });
          expect(answer.status, authorization.slice(0, 20)).to.equal(401);
          expect(answer.headers.get('www-authenticate')).to.contain('error="invalid_token"');
        }
      });

      it('stop working once revoked, or once their session ends', async function () {
        const { account, token } = await signedIn('revoker');
        await oidc.tokenRevocation(home.client, token);
        expect((await api('GET', `/users/${account.id}`, { token })).status).to.equal(401);

        const ending = await anotherSession('revoker');
        const ender = await anotherSession('revoker');
        const sessions = (await api('GET', `/users/${account.id}/sessions`, { token: ender })).body.sessions as { uid: string }[];
        const endingUid = await server.services.accountSessions.uidOfSid(account.id, home.instance.clientId, decodeJwt(ending).sid as string);
        expect(sessions.map(({ uid }) => uid)).to.include(endingUid);
        expect((await api('DELETE', `/users/${account.id}/sessions/${endingUid}`, { token: ender })).status).to.equal(204);
        expect((await api('GET', `/users/${account.id}`, { token: ending })).status).to.equal(401);
        expect((await api('GET', `/users/${account.id}`, { token: ender })).status).to.equal(200);
      });

      it("stop working when their account is disabled or gone, though the token itself still stands", async function () {
        const { account, token } = await signedIn('disabled-by-store');
        await server.services.accounts.setDisabled(account.id, true);
        expect((await api('GET', `/users/${account.id}`, { token })).status).to.equal(401);
        await server.services.accounts.setDisabled(account.id, false);
        expect((await api('GET', `/users/${account.id}`, { token })).status).to.equal(200);
        await server.services.accounts.delete(account.id);
        expect((await api('GET', `/users/${account.id}`, { token })).status).to.equal(401);
      });
    });

    describe('passwords and sessions of ones own', function () {
      it('changes the password with the current one, keeping this session and ending the others', async function () {
        const { account, token } = await signedIn('own-changer');
        const otherSession = await anotherSession('own-changer');
        const wrong = await api('PUT', `/users/${account.id}/password`, { token, body: { current: 'not my password', password: NEW_PASSWORD } });
        expect(wrong.status).to.equal(400);
        expect(wrong.body.detail).to.equal('the current password is not right');
        const withoutCurrent = await api('PUT', `/users/${account.id}/password`, { token, body: { password: NEW_PASSWORD } });
        expect(withoutCurrent.status).to.equal(400);
        expect(withoutCurrent.body.detail).to.match(/^current: /);
        expect((await api('PUT', `/users/${account.id}/password`, { token, body: { current: PASSWORD, password: NEW_PASSWORD } })).status).to.equal(204);
        expect((await api('GET', `/users/${account.id}`, { token })).status).to.equal(200);
        expect((await api('GET', `/users/${account.id}`, { token: otherSession })).status).to.equal(401);
        expect((await api('GET', `/users/${account.id}/sessions`, { token })).body.sessions).to.have.length(1);
        expect(await server.services.authenticator.signIn('own-changer', NEW_PASSWORD)).to.include({ ok: true });
      });

      it('lists and ends its sessions, each with back-channel logout', async function () {
        const { account, token } = await signedIn('session-keeper');
        await anotherSession('session-keeper');
        const listed = await api('GET', `/users/${account.id}/sessions`, { token });
        const sessions = listed.body.sessions as { uid: string; clientIds: string[]; signedInAt: string }[];
        expect(sessions).to.have.length(2);
        expect(sessions.every(({ clientIds }) => clientIds.includes(home.instance.clientId))).to.equal(true);
        expect((await api('DELETE', `/users/${account.id}/sessions/no-such-session`, { token })).status).to.equal(404);
        const logouts = receiver.tokens.length;
        const ended = await api('DELETE', `/users/${account.id}/sessions`, { token });
        expect(ended.status).to.equal(200);
        expect(ended.body).to.include({ sessions: 2 });
        expect(receiver.tokens.slice(logouts).filter((logout) => decodeJwt(logout).sub === account.id)).to.have.length(2);
        expect((await api('GET', `/users/${account.id}/sessions`, { token })).status).to.equal(401);
      });
    });

    describe('bad input', function () {
      let account: { id: string };
      let token: string;
      before(async function () {
        ({ account, token } = await signedIn('bad-input'));
      });

      const put = (body: unknown, headers: Record<string, string> = {}) => api('PUT', `/users/${account.id}`, { token, body, headers });

      it('refuses bodies the schema does not take, saying what is wrong, as problem+json 400', async function () {
        const cases: [unknown, string][] = [
          [{ nickname: 'x' }, 'Unrecognized key: "nickname"'],
          [{ email: 'not-an-address' }, 'email: not a valid email address'],
          [{ bio: 'b'.repeat(2001) }, 'bio: Too big: expected string to have <=2000 characters'],
          [{ displayName: 'nul\0here' }, 'displayName: must not contain a NUL character'],
          [{ bio: 5 }, 'bio: Invalid input: expected string, received number'],
          [[], 'Invalid input: expected object, received array'],
          [{ picture: 'javascript:alert(1)' }, 'picture must be an http or https URL'],
        ];
        for (const [body, detail] of cases) {
          const answer = await put(body);
          expect(answer.status, JSON.stringify(body).slice(0, 40)).to.equal(400);
          expect(answer.headers.get('content-type')).to.contain('application/problem+json');
          expect(answer.body.detail).to.contain(detail);
        }
        const localId = await api('POST', '/auth/register', {
          token: (await poweredAdmin('bad-input-root')).token,
          body: { username: 'fractional', localUserId: 1.5 },
        });
        expect(localId.body.detail).to.equal('localUserId: Invalid input: expected int, received number');
        expect((await api('GET', `/users/${account.id}`, { token })).body).to.include({ bio: null, picture: null });
      });

      it('refuses what is not JSON (400, 415) and what is too big (413)', async function () {
        const malformed = await put('{"bio":');
        expect(malformed.status).to.equal(400);
        const plain = await put('bio=x', { 'content-type': 'text/plain' });
        expect(plain.status).to.equal(415);
        expect(plain.body.detail).to.contain('application/json');
        const big = await put({ bio: 'b'.repeat(20_000) });
        expect(big.status).to.equal(413);
      });

      it('answers 404 for ids no store can hold', async function () {
        const { token: rootToken } = await poweredAdmin('bad-input-admin');
        for (const id of ['%00', `a%00${account.id}`, 'x'.repeat(300)]) {
          expect((await api('GET', `/users/${id}`, { token: rootToken })).status, id).to.equal(404);
          expect((await api('PUT', `/users/${id}`, { token: rootToken, body: { bio: 'x' } })).status, id).to.equal(404);
        }
      });
    });

    it('serves an OpenAPI 3.1 document whose schemas are valid JSON Schema 2020-12', async function () {
      const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument & {
        components: { schemas: Record<string, object> };
      };
      expect(document.openapi).to.match(/^3\.1\./);
      expect(Object.keys(document.paths)).to.include.members([
        '/auth/register',
        '/users/{id}',
        '/users/{id}/password',
        '/users/{id}/sessions',
        '/users/{id}/sessions/{uid}',
      ]);
      // Strict: an unknown keyword or a malformed schema throws. The components sit where their $refs point.
      // A type list ("type": ["string", "null"]) is JSON Schema; strict mode only wants it allowed by name.
      const strict = new Ajv2020({ strict: true, allowUnionTypes: true });
      formats.default(strict);
      strict.addKeyword('components');
      strict.addSchema({ $id: 'document', components: document.components });
      for (const name of Object.keys(document.components.schemas)) {
        expect(() => strict.getSchema(`document#/components/schemas/${name}`), name).to.not.throw();
      }
    });
  });
}

// Issue 16: look-alike usernames. Registration by an instance's admin (/auth/register) and by a server admin
// (/admin/users) keeps new usernames to the rule, as a problem+json field error, and one username per key whatever
// the race, on every store set-up.
for (const backend of BACKENDS) {
  describe(`usernames through the user and admin APIs (${backend})`, function () {
    let server: TestServer;
    let home: Awaited<ReturnType<typeof addInstance>>;
    let instanceAdminToken: string;
    let serverAdminToken: string;

    before(async function () {
      server = await startTestServer(backend);
      home = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      const homeAdmin = await addAccount(server, 'home-admin');
      await server.services.accessOperations.grant(home.instance.id, homeAdmin.id, 'admin', null, OPERATOR);
      instanceAdminToken = (await codeFlow(home.client, { username: 'home-admin' })).tokens.access_token;
      await addAccount(server, 'root', { isAdmin: true });
      serverAdminToken = (await codeFlow(home.client, { username: 'root', scope: `openid profile ${ADMIN_SCOPE}` })).tokens.access_token;
    });
    after(async function () {
      await server?.close();
    });

    async function post(path: string, token: string, body: unknown): Promise<{ status: number; type: string | null; body: { detail?: string; user?: { username: string } } }> {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as { detail?: string } };
    }

    it('creates one account of 20 simultaneous alice, ａlice, ALICE, Ａｌｉｃｅ; the other 19 get 409 problem+json', async function () {
      const names = ['alice', '\uff41lice', 'ALICE', '\uff21\uff4c\uff49\uff43\uff45'];
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          n % 2 === 0 ? post('/auth/register', instanceAdminToken, { username: names[n % 4] }) : post('/admin/users', serverAdminToken, { username: names[n % 4] }),
        ),
      );
      expect(answers.map((answer) => answer.status).sort()).to.deep.equal([201, ...Array<number>(19).fill(409)]);
      for (const refused of answers.filter((answer) => answer.status === 409)) {
        expect(refused.type).to.equal('application/problem+json');
        expect(refused.body.detail).to.match(/^username ".+" is taken \(usernames that differ only in case or in look-alike forms are one\)$/);
      }
    });

    it('creates one account of 20 simultaneous émile, composed and decomposed, and keeps it composed', async function () {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, n) => post(n % 2 === 0 ? '/auth/register' : '/admin/users', n % 2 === 0 ? instanceAdminToken : serverAdminToken, { username: n % 4 < 2 ? 'e\u0301mile' : '\u00e9mile' })),
      );
      expect(answers.map((answer) => answer.status).sort()).to.deep.equal([201, ...Array<number>(19).fill(409)]);
      expect(answers.find((answer) => answer.status === 201)?.body.user?.username).to.equal('\u00e9mile');
    });

    it('refuses a username outside the rule as a field error (400 problem+json), markup and bidi controls included', async function () {
      for (const username of ['<script>alert(1)</script>', 'a b', '-rf', 'evil\u202egnp.exe', '']) {
        for (const [path, token] of [['/auth/register', instanceAdminToken], ['/admin/users', serverAdminToken]] as const) {
          const refused = await post(path, token, { username });
          expect([refused.status, refused.type], `${path} ${JSON.stringify(username)}`).to.deep.equal([400, 'application/problem+json']);
          expect(refused.body.detail).to.match(/^username: (may only hold letters, digits and \. _ - @, and must start with a letter or a digit|must be 1 to 50 characters)$/);
        }
      }
      expect(await server.services.accounts.findByUsername('<script>alert(1)</script>')).to.equal(null);
    });

    it('signs an account in by any spelling of its username with the same key; its tokens carry the one it has', async function () {
      const created = await post('/admin/users', serverAdminToken, { username: 'Zoë', password: NEW_PASSWORD });
      expect(created.status).to.equal(201);
      const { tokens } = await codeFlow(home.client, { username: '\uff3a\uff4fe\u0308', password: NEW_PASSWORD });
      expect(tokens.claims()).to.include({ preferred_username: 'Zoë' });
    });
  });
}
