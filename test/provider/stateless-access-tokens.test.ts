// Access tokens are stored nowhere (src/provider/revocation-marks.ts): client_credentials answered without the
// provider (client-credentials-grant.ts), introspection answered from the signature and the revocation marks
// (jwt-introspection.ts), userinfo and revocation through the provider (jwt-presentation.ts). On every store set-up.
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { Redis } from 'ioredis';
import { StoredModelEntity } from '../../adapters/sql-model-entity.js';
import { USERS_READ_SCOPE } from '../../src/instances/instance-store.js';
import { REDIS_URL } from '../support/databases.js';
import { addAccount, addInstance, basicAuth, clientAssertion, clientCredentialsWithAssertion, codeFlow } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

async function post(server: TestServer, path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Every AccessToken or ClientCredentials record of `clientId` in the server's store, whatever the backend. */
async function storedTokensOf(server: TestServer, clientId: string): Promise<number> {
  const models = ['AccessToken', 'ClientCredentials'];
  if (server.env.AUTH_REDIS_URL) {
    const redis = new Redis(REDIS_URL);
    try {
      let found = 0;
      for (const model of models) {
        const keys = await redis.keys(`oidc:${model}:*`);
        const values = keys.length > 0 ? await redis.mget(keys) : [];
        found += values.filter((value) => value?.includes(`"${clientId}"`)).length;
      }
      return found;
    } finally {
      redis.disconnect();
    }
  }
  const rows = await server.services.dataSource.getRepository(StoredModelEntity).find();
  return rows.filter((row) => models.includes(row.model) && row.payload.includes(`"${clientId}"`)).length;
}

for (const backend of BACKENDS) {
  describe(`stateless access tokens (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(async function () {
      await server?.close();
    });

    describe('client_credentials', function () {
      it('[provider-pin] issues the same token and response as the provider does, with nothing stored', async function () {
        const { instance, clientSecret, client } = await addInstance(server, { scopes: ['openid', 'profile', USERS_READ_SCOPE] });
        const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
        const form = { grant_type: 'client_credentials', scope: `${USERS_READ_SCOPE} openid` };
        const fast = await post(server, '/token', form, auth);
        // A parameter the fast path does not know sends the same request to the provider, which ignores it.
        const provider = await post(server, '/token', { ...form, unrecognised: 'x' }, auth);
        expect(fast.status).to.equal(200);
        expect(provider.status).to.equal(200);
        expect(Object.keys(fast.body).sort()).to.deep.equal(Object.keys(provider.body).sort());
        expect({ ...fast.body, access_token: 'x' }).to.deep.equal({ ...provider.body, access_token: 'x' });
        expect(fast.headers.get('cache-control')).to.equal(provider.headers.get('cache-control'));

        const [fastToken, providerToken] = [fast.body.access_token as string, provider.body.access_token as string];
        expect(decodeProtectedHeader(fastToken)).to.deep.equal(decodeProtectedHeader(providerToken));
        const { jti: a, iat: _i1, exp: e1, ...fastClaims } = decodeJwt(fastToken);
        const { jti: b, iat: _i2, exp: e2, ...providerClaims } = decodeJwt(providerToken);
        expect(fastClaims).to.deep.equal(providerClaims);
        expect(fastClaims).to.include({ sub: instance.clientId, client_id: instance.clientId, aud: instance.clientId, iss: server.issuer, scope: `${USERS_READ_SCOPE} openid` });
        expect(a).to.be.a('string').with.length(43).and.not.equal(b);
        expect(Math.abs((e1 as number) - (e2 as number))).to.be.at.most(2);

        for (const token of [fastToken, providerToken]) expect((await oidc.tokenIntrospection(client, token)).active).to.equal(true);
        await Promise.all(Array.from({ length: 20 }, () => oidc.clientCredentialsGrant(client)));
        expect(await storedTokensOf(server, instance.clientId)).to.equal(0);
      });

      it('leaves every request it cannot settle to the provider, which answers as the RFCs say', async function () {
        const { instance, clientSecret } = await addInstance(server, { scopes: ['openid'] });
        const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
        const scope = await post(server, '/token', { grant_type: 'client_credentials', scope: USERS_READ_SCOPE }, auth);
        expect([scope.status, scope.body.error]).to.deep.equal([400, 'invalid_scope']);
        const target = await post(server, '/token', { grant_type: 'client_credentials', resource: 'urn:chillfi3:instance:other' }, auth);
        expect([target.status, target.body.error]).to.deep.equal([400, 'invalid_target']);
        const both = await post(server, '/token', { grant_type: 'client_credentials', client_id: instance.clientId, client_secret: clientSecret }, auth);
        expect(both.status, 'two mechanisms at once').to.equal(400);

        const userOnly = await addInstance(server, { grantTypes: ['authorization_code', 'refresh_token'] });
        const notAllowed = await post(server, '/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(userOnly.instance.clientId, userOnly.clientSecret) });
        expect([notAllowed.status, notAllowed.body.error]).to.deep.equal([400, 'unauthorized_client']);

        const jwtClient = await addInstance(server, { tokenEndpointAuthMethod: 'client_secret_jwt' });
        const assertion = await clientAssertion(server, jwtClient.instance.clientId, jwtClient.clientSecret);
        const viaAssertion = await post(server, '/token', {
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        });
        expect(viaAssertion.status).to.equal(200);
      });
    });

    describe('introspection', function () {
      it("answers with the token's claims for a user's and a service token, and no subject for the service token", async function () {
        const account = await addAccount(server, `intro-${backend.replace('+', '-')}`);
        const { instance, client } = await addInstance(server);
        const { tokens } = await codeFlow(client, { username: account.username, scope: 'openid profile' });
        const user = await oidc.tokenIntrospection(client, tokens.access_token);
        const claims = decodeJwt(tokens.access_token);
        expect(user).to.include({ active: true, sub: account.id, client_id: instance.clientId, iss: server.issuer, jti: claims.jti, aud: instance.clientId, token_type: 'Bearer', preferred_username: account.username });
        expect(user.exp).to.equal(claims.exp);
        expect(user.scope).to.equal(claims.scope);
        expect(user).to.not.have.property('grant_id');

        const service = await oidc.clientCredentialsGrant(client);
        const answer = await oidc.tokenIntrospection(client, service.access_token);
        expect(answer).to.include({ active: true, client_id: instance.clientId, token_type: 'Bearer' });
        expect(answer).to.not.have.property('sub');
      });

      it('is inactive for another instance, a forged or unknown token, and answers a caller that signs assertions alike', async function () {
        const { client } = await addInstance(server);
        const other = await addInstance(server);
        const jwtClient = await addInstance(server, { tokenEndpointAuthMethod: 'client_secret_jwt' });
        const token = (await oidc.clientCredentialsGrant(client)).access_token;
        expect((await oidc.tokenIntrospection(other.client, token)).active).to.equal(false);
        const [header, payload] = token.split('.');
        expect((await oidc.tokenIntrospection(client, `${header}.${payload}.${'A'.repeat(86)}`)).active).to.equal(false);
        expect((await oidc.tokenIntrospection(client, 'not-a-token')).active).to.equal(false);

        const own = (await (await clientCredentialsWithAssertion(server, await clientAssertion(server, jwtClient.instance.clientId, jwtClient.clientSecret))).json()) as { access_token: string };
        const introspect = async (tokenToCheck: string) =>
          post(server, '/token/introspection', {
            token: tokenToCheck,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await clientAssertion(server, jwtClient.instance.clientId, jwtClient.clientSecret),
          });
        expect((await introspect(own.access_token)).body).to.include({ active: true, client_id: jwtClient.instance.clientId });
        expect((await introspect(token)).body).to.deep.equal({ active: false });
      });

      it('says inactive at once after revocation of the token, of its grant, of its session, or deletion of its instance', async function () {
        const account = await addAccount(server, `revoked-${backend.replace('+', '-')}`);
        const { instance, client } = await addInstance(server);
        const first = await codeFlow(client, { username: account.username, scope: 'openid profile offline_access' });
        const second = await codeFlow(client, { username: account.username, scope: 'openid profile offline_access' });
        const service = (await oidc.clientCredentialsGrant(client)).access_token;
        const active = async (token: string) => (await oidc.tokenIntrospection(client, token)).active;
        expect(await active(first.tokens.access_token)).to.equal(true);

        await oidc.tokenRevocation(client, service);
        expect(await active(service), 'revoked service token').to.equal(false);
        await oidc.tokenRevocation(client, first.tokens.refresh_token!);
        expect(await active(first.tokens.access_token), 'grant revoked through its refresh token').to.equal(false);
        expect(await active(second.tokens.access_token), 'another grant of the same user').to.equal(true);

        await server.services.accountSessions.endAll(account.id);
        expect(await active(second.tokens.access_token), 'sessions ended').to.equal(false);

        const third = await codeFlow(client, { username: account.username });
        await server.services.instanceOperations.delete(instance.id, { accountId: null, via: 'cli', ip: null, userAgent: null });
        expect(await server.services.accessTokens.live(third.tokens.access_token), 'instance deleted').to.equal(undefined);
      });
    });

    describe('under attack', function () {
      it('answers the same at every spelling of the token and introspection paths the provider runs', async function () {
        const { instance, clientSecret } = await addInstance(server);
        const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
        for (const path of ['/token', '/TOKEN', '/Token/']) {
          const issued = await post(server, path, { grant_type: 'client_credentials' }, auth);
          expect(issued.status, path).to.equal(200);
          for (const introspection of ['/token/introspection', '/TOKEN/INTROSPECTION', '/token/Introspection/']) {
            const answer = await post(server, introspection, { token: issued.body.access_token as string }, auth);
            expect(answer.body, `${path} then ${introspection}`).to.include({ active: true, client_id: instance.clientId });
          }
        }
      });

      it('answers 20 parallel issuances with 20 distinct live tokens, and none of them once revoked, racing or not', async function () {
        const { instance, clientSecret } = await addInstance(server);
        const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
        const issued = await Promise.all(Array.from({ length: 20 }, () => post(server, '/token', { grant_type: 'client_credentials' }, auth)));
        const tokens = issued.map(({ body }) => body.access_token as string);
        expect(new Set(tokens.map((token) => decodeJwt(token).jti)).size).to.equal(20);
        const [victim] = tokens;
        await Promise.all([
          post(server, '/token/revocation', { token: victim! }, auth),
          ...Array.from({ length: 19 }, () => post(server, '/token/introspection', { token: victim! }, auth)),
        ]);
        const after = await Promise.all(tokens.map((token) => post(server, '/token/introspection', { token }, auth)));
        expect(after.map(({ body }) => body.active)).to.deep.equal([false, ...Array.from({ length: 19 }, () => true)]);
        const again = await Promise.all(Array.from({ length: 20 }, () => post(server, '/token/introspection', { token: victim! }, auth)));
        for (const answer of again) expect(answer.body).to.deep.equal({ active: false });
      });

      it('answers input no store can hold, huge or odd as an unknown token or the OAuth error, never a 5xx', async function () {
        const { instance, clientSecret } = await addInstance(server);
        const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
        const token = (await post(server, '/token', { grant_type: 'client_credentials' }, auth)).body.access_token as string;
        const [header, payload, signature] = token.split('.');
        const odd = [
          `${header}.${payload}.${signature}\u0000`,
          `${header}\u0000.${payload}.${signature}`,
          `${'A'.repeat(40_000)}.${'B'.repeat(10_000)}.${'C'.repeat(86)}`,
          `${header}.${payload}.${signature}\u{1F600}`,
          `é.${payload}.${signature}`,
          '..',
        ];
        for (const candidate of odd) {
          const answer = await post(server, '/token/introspection', { token: candidate }, auth);
          expect([answer.status, answer.body], JSON.stringify(candidate.slice(0, 40))).to.deep.equal([200, { active: false }]);
          const revoked = await post(server, '/token/revocation', { token: candidate }, auth);
          expect(revoked.status, `revocation of ${JSON.stringify(candidate.slice(0, 40))}`).to.equal(200);
        }
        for (const scope of ['openid\u0000', 'x'.repeat(40_000), 'openid  profile', '\u{1F600}']) {
          const answer = await post(server, '/token', { grant_type: 'client_credentials', scope }, auth);
          expect(answer.status, JSON.stringify(scope.slice(0, 20))).to.be.within(200, 499);
          // Whatever was asked, a service token carries only scopes it may have (here: none of the odd ones).
          if (answer.status === 200) expect(decodeJwt(answer.body.access_token as string)).to.not.have.property('scope');
        }
      });
    });

    describe('userinfo and revocation through the provider', function () {
      it('serves userinfo for a live token, refuses it once revoked, and stores nothing beyond the request', async function () {
        const account = await addAccount(server, `userinfo-${backend.replace('+', '-')}`);
        const { client } = await addInstance(server);
        const { tokens } = await codeFlow(client, { username: account.username, scope: 'openid profile' });
        const claims = decodeJwt(tokens.access_token);
        const info = await oidc.fetchUserInfo(client, tokens.access_token, account.id);
        expect(info).to.include({ sub: account.id, preferred_username: account.username });
        await oidc.tokenRevocation(client, tokens.access_token);
        const after = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        expect(after.status).to.equal(401);
        expect((await oidc.tokenIntrospection(client, tokens.access_token)).active).to.equal(false);
        expect(claims.grant_id).to.be.a('string');
      });
    });
  });
}

for (const backend of BACKENDS) {
  describe(`stateless access tokens past the failure budget (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend, { CLIENT_AUTH_FAILURES_PER_CLIENT: '3' });
    });
    after(async function () {
      await server?.close();
    });

    it('refuses the right secret on both fast paths once the wrong ones spent the budget, whatever X-Forwarded-For says', async function () {
      const { instance, clientSecret } = await addInstance(server);
      const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
      const token = (await post(server, '/token', { grant_type: 'client_credentials' }, auth)).body.access_token as string;
      const guesses = await Promise.all(
        Array.from({ length: 20 }, () => post(server, '/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(instance.clientId, 'wrong') })),
      );
      expect(guesses.filter(({ status }) => status === 401)).to.have.length(3);
      expect(guesses.filter(({ status }) => status === 429)).to.have.length(17);
      const spoofs: Record<string, string>[] = [{}, { 'x-forwarded-for': '203.0.113.9' }, { 'x-forwarded-for': '203.0.113.9, 198.51.100.1', 'x-real-ip': '203.0.113.9' }];
      for (const spoof of spoofs) {
        const issued = await post(server, '/token', { grant_type: 'client_credentials' }, { ...auth, ...spoof });
        const introspected = await post(server, '/token/introspection', { token }, { ...auth, ...spoof });
        expect([issued.status, introspected.status], JSON.stringify(spoof)).to.deep.equal([429, 429]);
        expect(issued.headers.get('retry-after')).to.match(/^\d+$/);
      }
    });
  });
}

describe('stateless access tokens across nodes (PostgreSQL + Redis)', function () {
  let first: TestServer;
  let second: TestServer;
  before(async function () {
    first = await startTestServer('postgres+redis');
    second = await startTestServer('postgres+redis', {}, { join: first });
  });
  after(async function () {
    await second?.close();
    await first?.close();
  });

  it('revokes on one node and every other node says inactive at once, though it had verified the token before', async function () {
    const { instance, clientSecret } = await addInstance(first);
    const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
    const token = (await post(first, '/token', { grant_type: 'client_credentials' }, auth)).body.access_token as string;
    expect((await post(second, '/token/introspection', { token }, auth)).body.active).to.equal(true);
    expect((await post(first, '/token/revocation', { token }, auth)).status).to.equal(200);
    expect((await post(second, '/token/introspection', { token }, auth)).body).to.deep.equal({ active: false });
  });
});
