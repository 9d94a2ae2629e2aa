import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import { ADMIN_SCOPE, DEFAULT_SCOPES, USERS_READ_SCOPE } from '../../src/instances/instance-store.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { addAccount, addInstance, basicAuth, clientAssertion, clientCredentialsWithAssertion, codeFlow, REDIRECT_URI } from '../support/fixtures.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Short, so that the test sees a rotated-out secret stop working. */
const GRACE_SECONDS = 2;
const ADMIN_TOKEN_SCOPE = `openid profile ${ADMIN_SCOPE}`;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { detail?: string };
}

interface InstanceBody {
  id: string;
  clientId: string;
  name: string;
  rateLimit: number | null;
  grantTypes: string[];
  rotationGraceEndsAt: string | null;
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`admin API (${backend})`, function () {
    let server: TestServer;
    let openApi: OpenApiCheck;
    let receiver: Awaited<ReturnType<typeof backchannelReceiver>>;
    /** A first-party console allowed the admin scope for its users' tokens. */
    let console_: Awaited<ReturnType<typeof addInstance>>;
    /** An instance that may not ask for the admin scope. */
    let plain: Awaited<ReturnType<typeof addInstance>>;
    let adminToken: string;

    before(async function () {
      server = await startTestServer(backend, { CLIENT_SECRET_GRACE_SECONDS: String(GRACE_SECONDS) });
      receiver = await backchannelReceiver();
      console_ = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      plain = await addInstance(server);
      openApi = new OpenApiCheck((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument);
      await addAccount(server, 'root', { isAdmin: true });
      adminToken = (await codeFlow(console_.client, { username: 'root', scope: ADMIN_TOKEN_SCOPE })).tokens.access_token;
    });
    after(async function () {
      receiver.server.close();
      await server.close();
    });

    /** Calls the API; every answer must be one the served OpenAPI document describes. */
    async function api(method: string, path: string, { token = adminToken, body }: { token?: string | null; body?: unknown } = {}): Promise<Answer> {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      openApi.check(method, response.url, response.status, response.headers.get('content-type'), text);
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
    }

    /** A client of an instance the API registered, speaking with `secret`. */
    function clientOf(instance: InstanceBody, secret: string) {
      return oidc.discovery(new URL(server.issuer), instance.clientId, secret, undefined, { execute: [oidc.allowInsecureRequests] });
    }

    /** A client_credentials request with client_secret_basic; the status says whether the secret was taken. */
    async function serviceTokenStatus(clientId: string, secret: string): Promise<number> {
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      return response.status;
    }

    async function createInstance(body: Record<string, unknown>): Promise<{ instance: InstanceBody; clientSecret: string }> {
      const created = await api('POST', '/admin/instances', { body });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      return created.body as unknown as { instance: InstanceBody; clientSecret: string };
    }

    describe('who may call it', function () {
      /** Every endpoint, each with a body it would take. */
      const calls = (): [string, string, unknown?][] => {
        const instance = `/admin/instances/${plain.instance.id}`;
        const account = '0190a000-0000-7000-8000-000000000001';
        return [
          ['GET', '/admin/instances'],
          ['POST', '/admin/instances', { name: 'x', grantTypes: ['client_credentials'] }],
          ['GET', instance],
          ['PATCH', instance, { name: 'never renamed' }],
          ['DELETE', instance],
          ['POST', `${instance}/secret`],
          ['GET', `${instance}/access`],
          ['PUT', `${instance}/access/${account}`, { role: 'member' }],
          ['DELETE', `${instance}/access/${account}`],
          ['GET', '/admin/users'],
          ['POST', '/admin/users', { username: 'never-made' }],
          ['GET', `/admin/users/${account}/access`],
          ['GET', `/admin/users/${account}/sessions`],
          ['DELETE', `/admin/users/${account}/sessions`],
          ['GET', '/admin/audit'],
          ['GET', '/admin/enrollment-tokens'],
          ['POST', '/admin/enrollment-tokens', {}],
          ['DELETE', '/admin/enrollment-tokens/0190a000-0000-7000-8000-000000000002'],
        ];
      };

      afterEach(async function () {
        // Nothing a refused call asked for happened.
        expect(await server.services.accounts.findByUsername('never-made')).to.equal(null);
        const instance = await server.services.instances.get(plain.instance.id);
        expect(instance.name).to.equal(plain.instance.name);
        expect(instance.previousSecretExpiresAt).to.equal(null);
        expect(await server.services.enrolmentTokens.listLive()).to.deep.equal([]);
      });

      it('refuses a request without a token (401)', async function () {
        for (const [method, path, body] of calls()) {
          const answer = await api(method, path, { token: null, body });
          expect(answer.status, `${method} ${path}`).to.equal(401);
          expect(answer.headers.get('www-authenticate')).to.match(/^Bearer /);
        }
      });

      it("refuses a non-admin's token with the admin scope (403 forbidden)", async function () {
        await addAccount(server, 'not-root');
        const token = (await codeFlow(console_.client, { username: 'not-root', scope: ADMIN_TOKEN_SCOPE })).tokens.access_token;
        expect(decodeJwt(token).scope).to.contain(ADMIN_SCOPE);
        for (const [method, path, body] of calls()) {
          const answer = await api(method, path, { token, body });
          expect(answer.status, `${method} ${path}`).to.equal(403);
          expect(answer.body.detail).to.contain('admins of this server');
        }
      });

      it("refuses an admin's token without the admin scope (403 insufficient_scope)", async function () {
        await addAccount(server, 'root-no-scope', { isAdmin: true });
        const token = (await codeFlow(console_.client, { username: 'root-no-scope' })).tokens.access_token;
        const service = (await oidc.clientCredentialsGrant(console_.client)).access_token;
        for (const bearer of [token, service]) {
          for (const [method, path, body] of calls()) {
            const answer = await api(method, path, { token: bearer, body });
            expect(answer.status, `${method} ${path}`).to.equal(403);
            expect(answer.headers.get('www-authenticate')).to.contain('insufficient_scope');
          }
        }
      });

      it('gives the admin scope only to the tokens of an instance allowed it', async function () {
        await addAccount(server, 'root-elsewhere', { isAdmin: true });
        await codeFlow(plain.client, { username: 'root-elsewhere', scope: ADMIN_TOKEN_SCOPE }).then(
          () => expect.fail('an instance not allowed the admin scope got it'),
          (error: oidc.AuthorizationResponseError) => expect(error.error).to.equal('invalid_scope'),
        );
      });
    });

    describe('instances', function () {
      it('registers one (secret shown once), lists, reads and updates it, in effect at once', async function () {
        const { instance, clientSecret } = await createInstance({ name: 'Worker', grantTypes: ['client_credentials'], scopes: ['openid', USERS_READ_SCOPE] });
        expect(clientSecret).to.be.a('string').with.length.above(30);
        expect(await serviceTokenStatus(instance.clientId, clientSecret)).to.equal(200);
        const list = await api('GET', '/admin/instances');
        expect((list.body.instances as InstanceBody[]).map(({ id }) => id)).to.include(instance.id);
        expect(JSON.stringify(list.body)).to.not.contain(clientSecret);
        const read = await api('GET', `/admin/instances/${instance.id}`);
        expect(read.body).to.include({ name: 'Worker', clientId: instance.clientId });

        const renamed = await api('PATCH', `/admin/instances/${instance.id}`, { body: { name: 'Worker 2', rateLimit: 1 } });
        expect(renamed.status).to.equal(200);
        expect(renamed.body.instance).to.include({ name: 'Worker 2', rateLimit: 1 });
        expect(renamed.body.clientSecret).to.equal(null);
        // The new rate limit holds from the next request: one a minute.
        expect(await serviceTokenStatus(instance.clientId, clientSecret)).to.equal(200);
        expect(await serviceTokenStatus(instance.clientId, clientSecret)).to.equal(429);

        const [entry] = (await server.services.audit.query({ instanceId: instance.id, actions: ['instance.updated'] })).events;
        expect(entry?.details).to.include({ fields: 'name rateLimit', 'name.before': 'Worker', 'name.after': 'Worker 2', 'rateLimit.before': null, 'rateLimit.after': 1, via: 'api' });
      });

      it('refuses bad input with 400 and an unknown instance with 404', async function () {
        expect((await api('POST', '/admin/instances', { body: { name: 'x', colour: 'red' } })).status).to.equal(400);
        expect((await api('POST', '/admin/instances', { body: { name: 'x', redirectUris: ['ftp://x'] } })).status).to.equal(400);
        expect((await api('POST', '/admin/instances', { body: { name: 'x', grantTypes: ['client_credentials'], scopes: [ADMIN_SCOPE] } })).status).to.equal(400);
        expect((await api('PATCH', `/admin/instances/${plain.instance.id}`, { body: { tokenEndpointAuthMethod: 'private_key_jwt' } })).status).to.equal(400);
        const absent = '0190a000-0000-7000-8000-000000000000';
        expect((await api('GET', `/admin/instances/${absent}`)).status).to.equal(404);
        expect((await api('PATCH', `/admin/instances/${absent}`, { body: { name: 'y' } })).status).to.equal(404);
        expect((await api('DELETE', `/admin/instances/${absent}`)).status).to.equal(404);
        expect((await api('POST', `/admin/instances/${absent}/secret`)).status).to.equal(404);
      });

      it('rotates the secret: the old one keeps working through the grace period, then only the new one', async function () {
        const { instance, clientSecret: old } = await createInstance({ name: 'Rotating', grantTypes: ['client_credentials'] });
        const rotated = await api('POST', `/admin/instances/${instance.id}/secret`);
        expect(rotated.status).to.equal(200);
        const fresh = rotated.body.clientSecret as string;
        expect(fresh).to.not.equal(old);
        const graceEnds = new Date(rotated.body.previousSecretExpiresAt as string).getTime();
        expect((await api('GET', `/admin/instances/${instance.id}`)).body.rotationGraceEndsAt).to.equal(rotated.body.previousSecretExpiresAt);
        expect(graceEnds).to.be.closeTo(Date.now() + GRACE_SECONDS * 1000, 1000);
        expect(await serviceTokenStatus(instance.clientId, old)).to.equal(200);
        expect(await serviceTokenStatus(instance.clientId, fresh)).to.equal(200);
        const oldClient = await clientOf(instance, old);
        const token = (await oidc.clientCredentialsGrant(oldClient)).access_token;
        expect((await oidc.tokenIntrospection(oldClient, token)).active).to.equal(true);
        await new Promise((resolve) => setTimeout(resolve, graceEnds - Date.now() + 100));
        expect(await serviceTokenStatus(instance.clientId, old)).to.equal(401);
        expect(await serviceTokenStatus(instance.clientId, fresh)).to.equal(200);
        const [entry] = (await server.services.audit.query({ instanceId: instance.id, actions: ['instance.secret_rotated'] })).events;
        expect(entry?.details).to.include({ previous_secret_expires_at: rotated.body.previousSecretExpiresAt, via: 'api' });
      });

      it('keeps only the last two secrets working after two rotations', async function () {
        const { instance, clientSecret: first } = await createInstance({ name: 'Twice rotated', grantTypes: ['client_credentials'] });
        const second = (await api('POST', `/admin/instances/${instance.id}/secret`)).body.clientSecret as string;
        const third = (await api('POST', `/admin/instances/${instance.id}/secret`)).body.clientSecret as string;
        expect(await serviceTokenStatus(instance.clientId, first)).to.equal(401);
        expect(await serviceTokenStatus(instance.clientId, second)).to.equal(200);
        expect(await serviceTokenStatus(instance.clientId, third)).to.equal(200);
      });

      it('takes client_secret_jwt assertions signed with the previous secret through the grace, once each, then no more', async function () {
        const { instance, clientSecret: old } = await createInstance({ name: 'HMAC', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'client_secret_jwt' });
        const rotated = await api('POST', `/admin/instances/${instance.id}/secret`);
        const fresh = rotated.body.clientSecret as string;
        const withOld = await clientAssertion(server, instance.clientId, old);
        expect((await clientCredentialsWithAssertion(server, withOld)).status).to.equal(200);
        expect((await clientCredentialsWithAssertion(server, withOld)).status, 'replayed').to.equal(401);
        expect((await clientCredentialsWithAssertion(server, await clientAssertion(server, instance.clientId, fresh))).status).to.equal(200);
        await new Promise((resolve) => setTimeout(resolve, new Date(rotated.body.previousSecretExpiresAt as string).getTime() - Date.now() + 100));
        expect((await clientCredentialsWithAssertion(server, await clientAssertion(server, instance.clientId, old))).status).to.equal(401);
        expect((await clientCredentialsWithAssertion(server, await clientAssertion(server, instance.clientId, fresh))).status).to.equal(200);
      });

      it('hands a client_secret_post instance\'s previous secret on in the form', async function () {
        const { instance, clientSecret: old } = await createInstance({ name: 'Poster', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'client_secret_post' });
        await api('POST', `/admin/instances/${instance.id}/secret`);
        const response = await fetch(`${server.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: instance.clientId, client_secret: old }),
        });
        expect(response.status).to.equal(200);
      });

      it('deletes one: its users are told, its tokens (access, refresh, client_credentials) stop at once, its links go', async function () {
        const created = await createInstance({
          name: 'Doomed',
          redirectUris: [REDIRECT_URI],
          grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
          scopes: [...DEFAULT_SCOPES.split(' '), USERS_READ_SCOPE],
          backchannelLogoutUri: receiver.url,
          skipConsent: true,
        });
        const client = await clientOf(created.instance, created.clientSecret);
        const user = await addAccount(server, 'doomed-user');
        const signIn = await codeFlow(client, { username: 'doomed-user', scope: 'openid profile offline_access' });
        const service = (await oidc.clientCredentialsGrant(client, { scope: USERS_READ_SCOPE })).access_token;
        expect((await oidc.tokenIntrospection(client, signIn.tokens.access_token)).active).to.equal(true);
        expect((await api('GET', `/users/${user.id}`, { token: service })).status).to.equal(200);
        expect((await api('GET', `/admin/instances/${created.instance.id}/access`)).body.access).to.have.length(1);

        const logouts = receiver.tokens.length;
        const deleted = await api('DELETE', `/admin/instances/${created.instance.id}`);
        expect(deleted.status).to.equal(200);
        expect(deleted.body).to.deep.equal({ sessions: 1, grants: 1 });
        expect(receiver.tokens.slice(logouts).map((logout) => decodeJwt(logout).sub)).to.include(user.id);

        const { provider, accessTokens } = server.services;
        expect(await accessTokens.live(signIn.tokens.access_token)).to.equal(undefined);
        expect(await provider.RefreshToken.find(signIn.tokens.refresh_token as string)).to.equal(undefined);
        expect((await api('GET', `/users/${user.id}`, { token: signIn.tokens.access_token })).status).to.equal(401);
        expect((await api('GET', `/users/${user.id}`, { token: service })).status).to.equal(401);
        await oidc.refreshTokenGrant(client, signIn.tokens.refresh_token as string).then(
          () => expect.fail('a refresh token of a deleted instance worked'),
          (error: oidc.ResponseBodyError) => expect(error.error).to.equal('invalid_client'),
        );
        expect(await serviceTokenStatus(created.instance.clientId, created.clientSecret)).to.equal(401);
        expect(await server.services.instances.listAccess({ instanceId: created.instance.id })).to.deep.equal([]);
        expect((await api('GET', `/admin/instances/${created.instance.id}`)).status).to.equal(404);
      });

      if (backend === 'postgres+redis') {
        it("ends a deleted instance's grants on every node at once; other nodes refuse the instance itself within 10 s", async function () {
          this.timeout(30_000);
          const other = await startTestServer(backend, {}, { join: server });
          try {
            const created = await createInstance({
              name: 'Doomed on two nodes',
              redirectUris: [REDIRECT_URI],
              grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
              scopes: [...DEFAULT_SCOPES.split(' '), USERS_READ_SCOPE],
              skipConsent: true,
            });
            const user = await addAccount(server, 'two-node-user');
            const client = await clientOf(created.instance, created.clientSecret);
            const signIn = await codeFlow(client, { username: 'two-node-user', scope: 'openid offline_access' });
            const service = (await oidc.clientCredentialsGrant(client, { scope: USERS_READ_SCOPE })).access_token;
            const atOther = (token: string) => fetch(`${other.url}/users/${user.id}`, { headers: { authorization: `Bearer ${token}` } });
            // The other node has read the instance, and keeps it for up to 10 seconds.
            expect((await atOther(service)).status).to.equal(200);
            expect((await atOther(signIn.tokens.access_token)).status).to.equal(200);

            expect((await api('DELETE', `/admin/instances/${created.instance.id}`)).status).to.equal(200);
            expect((await atOther(signIn.tokens.access_token)).status).to.equal(401);
            const refresh = await fetch(`${other.url}/token`, {
              method: 'POST',
              headers: { authorization: basicAuth(created.instance.clientId, created.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: signIn.tokens.refresh_token as string }),
            });
            // The other node still knows the instance (cached, read above): the grant is gone, 400 invalid_grant.
            expect([refresh.status, ((await refresh.json()) as { error?: string }).error]).to.deep.equal([400, 'invalid_grant']);
            const deadline = Date.now() + 11_000;
            while ((await atOther(service)).status !== 401) {
              expect(Date.now(), 'the instance outlived the 10 s the docs state').to.be.below(deadline);
              await new Promise((resolve) => setTimeout(resolve, 250));
            }
          } finally {
            await other.close();
          }
        });
      }

      it('authenticates an instance by private_key_jwt with the keys it registered, and refuses a replayed assertion', async function () {
        const { publicKey, privateKey } = await generateKeyPair('ES256');
        const jwk = { ...(await exportJWK(publicKey)), kid: 'worker-key', alg: 'ES256', use: 'sig' };
        const created = await api('POST', '/admin/instances', {
          body: { name: 'Keyed', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [jwk] } },
        });
        expect(created.status, JSON.stringify(created.body)).to.equal(201);
        const instance = created.body.instance as InstanceBody;
        expect(created.body.clientSecret).to.equal(null);
        const client = await oidc.discovery(new URL(server.issuer), instance.clientId, undefined, oidc.PrivateKeyJwt({ key: privateKey, kid: 'worker-key' }), {
          execute: [oidc.allowInsecureRequests],
        });
        expect((await oidc.clientCredentialsGrant(client)).access_token).to.be.a('string');

        const signedBy = { alg: 'ES256', kid: 'worker-key' };
        const assertion = await clientAssertion(server, instance.clientId, privateKey, signedBy);
        expect((await clientCredentialsWithAssertion(server, assertion)).status).to.equal(200);
        const replay = await clientCredentialsWithAssertion(server, assertion);
        expect(replay.status).to.equal(401);
        expect(await replay.json()).to.include({ error: 'invalid_client' });

        const stranger = await generateKeyPair('ES256');
        const forged = await clientAssertion(server, instance.clientId, stranger.privateKey, signedBy);
        expect((await clientCredentialsWithAssertion(server, forged)).status).to.equal(401);
      });

      it('fetches a jwks_uri with the guard against private addresses on: a key set on loopback is never fetched', async function () {
        const { publicKey, privateKey } = await generateKeyPair('ES256');
        const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'remote-key', alg: 'ES256' }] };
        let fetched = 0;
        const keyServer = createServer((_req, res) => {
          fetched += 1;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(jwks));
        });
        await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
        try {
          const jwksUri = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks`;
          const body = { name: 'Remote keys', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'private_key_jwt', jwksUri };
          const created = await api('POST', '/admin/instances', { body });
          expect(created.status, JSON.stringify(created.body)).to.equal(201);
          const instance = created.body.instance as InstanceBody;
          const client = await oidc.discovery(new URL(server.issuer), instance.clientId, undefined, oidc.PrivateKeyJwt({ key: privateKey, kid: 'remote-key' }), {
            execute: [oidc.allowInsecureRequests],
          });
          await oidc.clientCredentialsGrant(client).then(
            () => expect.fail('keys on a private address were used'),
            (error: oidc.ResponseBodyError) => expect(error.error).to.equal('invalid_client'),
          );
          // The client is valid (its jwks_uri taken as it is): what stopped the fetch is the guard.
          expect((await server.services.provider.Client.find(instance.clientId))?.jwksUri).to.equal(jwksUri);
          expect(fetched).to.equal(0);
          // Nor through the back-channel logout exemption.
          const through = await api('PATCH', `/admin/instances/${console_.instance.id}`, { body: { backchannelLogoutUri: jwksUri } });
          expect(through.status).to.equal(200);
          const refused = await api('POST', '/admin/instances', { body: { ...body, name: 'Sneaky' } });
          expect(refused.status).to.equal(400);
          expect(refused.body.detail).to.contain('back-channel logout URI');
          expect((await api('POST', '/admin/instances', { body: { ...body, jwks } })).status).to.equal(400);
        } finally {
          await api('PATCH', `/admin/instances/${console_.instance.id}`, { body: { backchannelLogoutUri: null } });
          keyServer.close();
        }
      });

      it('refuses private keys in a JWKS', async function () {
        const { privateKey } = await generateKeyPair('ES256', { extractable: true });
        const answer = await api('POST', '/admin/instances', {
          body: { name: 'Leaky', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [await exportJWK(privateKey)] } },
        });
        expect(answer.status).to.equal(400);
        expect(answer.body.detail).to.contain('public keys only');
      });
    });

    describe('accounts, access, sessions and the audit trail', function () {
      it('creates and lists accounts, and searches them', async function () {
        const created = await api('POST', '/admin/users', { body: { username: 'made-by-admin', email: 'made@example.org', isAdmin: false } });
        expect(created.status).to.equal(201);
        expect(created.body.passwordLink).to.have.property('url');
        const found = await api('GET', '/admin/users?search=MADE-BY');
        expect((found.body.users as { username: string }[]).map(({ username }) => username)).to.deep.equal(['made-by-admin']);
        expect((await api('GET', '/admin/users?search=a&search=b')).status).to.equal(400);
        expect((await api('POST', '/admin/users', { body: { username: 'made-by-admin' } })).status).to.equal(409);
      });

      it('lists accounts and an instance\'s members a page at a time, by cursor, every one once', async function () {
        const members = await addInstance(server);
        const made: string[] = [];
        for (let index = 0; index < 7; index++) {
          const account = await addAccount(server, `paged-${index}`);
          made.push(account.id);
          await server.services.instances.grantAccess(members.instance.id, account.id, 'member');
        }
        /** Every page of `path` with `limit`, following nextCursor: each page's entries. */
        async function pages(path: string, key: 'users' | 'access', limit: number): Promise<Record<string, unknown>[][]> {
          const all: Record<string, unknown>[][] = [];
          let cursor: string | null = null;
          do {
            const answer = await api('GET', `${path}${path.includes('?') ? '&' : '?'}${new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
            expect(answer.status).to.equal(200);
            all.push(answer.body[key] as Record<string, unknown>[]);
            cursor = answer.body.nextCursor as string | null;
          } while (cursor);
          return all;
        }
        const users = await pages('/admin/users?search=paged-', 'users', 3);
        expect(users.map((page) => page.length)).to.deep.equal([3, 3, 1]);
        expect(users.flat().map((user) => user.username)).to.deep.equal(made.map((_, index) => `paged-${index}`));
        const access = await pages(`/admin/instances/${members.instance.id}/access`, 'access', 2);
        expect(access.map((page) => page.length)).to.deep.equal([2, 2, 2, 1]);
        expect(access.flat().map((link) => link.accountId), 'by account id, every member once').to.deep.equal([...made].sort());
        expect((await api('GET', '/admin/users?cursor=not-a-cursor')).status).to.equal(400);
        expect((await api('GET', `/admin/instances/${members.instance.id}/access?limit=0`)).status).to.equal(400);
        expect((await api('GET', `/admin/instances/${members.instance.id}/access?limit=501`)).status).to.equal(400);
      });

      it("gives, lists and takes away access, from the instance's side and the account's", async function () {
        const account = await addAccount(server, 'member-to-be');
        const path = `/admin/instances/${plain.instance.id}/access/${account.id}`;
        const granted = await api('PUT', path, { body: { role: 'admin', localUserId: 42 } });
        expect(granted.status).to.equal(200);
        expect(granted.body).to.include({ role: 'admin', localUserId: 42, accountId: account.id });
        expect((await api('GET', `/admin/users/${account.id}/access`)).body.access).to.have.length(1);
        const listed = (await api('GET', `/admin/instances/${plain.instance.id}/access`)).body.access as { accountId: string }[];
        expect(listed.map(({ accountId }) => accountId)).to.include(account.id);
        expect((await api('DELETE', path)).status).to.equal(204);
        expect((await api('DELETE', path)).status).to.equal(404);
        expect((await api('GET', `/admin/users/${account.id}/access`)).body.access).to.deep.equal([]);
      });

      it("lists and ends an account's sessions", async function () {
        const account = await addAccount(server, 'session-holder');
        const signIn = await codeFlow(plain.client, { username: 'session-holder' });
        const sessions = await api('GET', `/admin/users/${account.id}/sessions`);
        expect(sessions.body.sessions).to.have.length(1);
        expect((await api('DELETE', `/admin/users/${account.id}/sessions`)).body).to.deep.equal({ sessions: 1, grants: 1 });
        expect((await oidc.tokenIntrospection(plain.client, signIn.tokens.access_token)).active).to.equal(false);
        expect((await api('GET', '/admin/users/0190a000-0000-7000-8000-000000000000/sessions')).status).to.equal(404);
      });

      it('reads the audit trail with filters, a page at a time', async function () {
        for (const name of ['Audited 1', 'Audited 2', 'Audited 3']) await createInstance({ name, grantTypes: ['client_credentials'] });
        const first = await api('GET', '/admin/audit?action=instance.created&limit=2');
        expect(first.status).to.equal(200);
        const events = first.body.events as { action: string; details: { name: string } }[];
        expect(events.map(({ details }) => details.name)).to.deep.equal(['Audited 3', 'Audited 2']);
        const next = await api('GET', `/admin/audit?action=instance.*&limit=2&cursor=${encodeURIComponent(first.body.nextCursor as string)}`);
        expect((next.body.events as { details: { name: string } }[])[0]?.details.name).to.equal('Audited 1');
        expect((await api('GET', '/admin/audit?outcome=maybe')).status).to.equal(400);
        expect((await api('GET', '/admin/audit?since=yesterday')).status).to.equal(400);
        expect((await api('GET', '/admin/audit?colour=red')).status).to.equal(400);
      });
    });
  });
}
