import { expect } from 'chai';
import * as oidc from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, clientAssertion, clientCredentialsWithAssertion, codeFlow } from '../support/fixtures.js';

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`authorization code flow with openid-client (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
      await addAccount(server, 'alice', { email: 'alice@example.test' });
    });
    after(() => server.close());

    it('signs in with code + PKCE and returns an RFC 9068 access token for the instance', async function () {
      const { client, instance } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'alice' });
      const header = decodeProtectedHeader(tokens.access_token);
      const claims = decodeJwt(tokens.access_token);
      expect(header.typ).to.equal('at+jwt');
      expect(header.alg).to.equal('ES256');
      expect(claims.aud).to.equal(instance.clientId);
      expect(claims.iss).to.equal(server.issuer);
      expect(claims.exp! - claims.iat!).to.equal(900);
      expect(claims.preferred_username).to.equal('alice');
      expect(claims.chillfi3_role).to.equal('member');
      expect(tokens.claims()?.preferred_username).to.equal('alice');
      expect(tokens.refresh_token).to.be.a('string');
      const userinfo = await oidc.fetchUserInfo(client, tokens.access_token, tokens.claims()!.sub);
      expect(userinfo).to.include({ preferred_username: 'alice', email: 'alice@example.test', chillfi3_role: 'member' });
    });

    it('introspects, revokes, and then reports the token inactive', async function () {
      const { client, instance } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'alice' });
      const active = await oidc.tokenIntrospection(client, tokens.access_token);
      expect(active.active).to.equal(true);
      expect(active.aud).to.equal(instance.clientId);
      expect(active.client_id).to.equal(instance.clientId);
      await oidc.tokenRevocation(client, tokens.access_token);
      const inactive = await oidc.tokenIntrospection(client, tokens.access_token);
      expect(inactive.active).to.equal(false);
    });

    // Reuse once the chain has moved on: a second use within REFRESH_RETRY_GRACE_SECONDS of a refresh, before its
    // successor is used, is a retry (test/provider/refresh-retry-grace.test.ts).
    it('rotates refresh tokens and revokes the grant when an old one is reused', async function () {
      const { client } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'alice' });
      const first = tokens.refresh_token!;
      const second = await oidc.refreshTokenGrant(client, first);
      expect(second.refresh_token).to.be.a('string').and.not.equal(first);
      const third = await oidc.refreshTokenGrant(client, second.refresh_token!);
      expect(third.refresh_token).to.be.a('string').and.not.equal(second.refresh_token);
      let reuse: unknown;
      try {
        await oidc.refreshTokenGrant(client, first);
      } catch (error) {
        reuse = error;
      }
      expect(reuse).to.have.property('error', 'invalid_grant');
      expect((await oidc.tokenIntrospection(client, third.access_token)).active).to.equal(false);
      expect((await oidc.tokenIntrospection(client, third.refresh_token!)).active).to.equal(false);
    });

    it('issues client_credentials tokens that introspect as active', async function () {
      const { client, instance } = await addInstance(server);
      const tokens = await oidc.clientCredentialsGrant(client);
      const claims = decodeJwt(tokens.access_token);
      expect(claims.sub).to.equal(instance.clientId);
      expect(claims.aud).to.equal(instance.clientId);
      expect((await oidc.tokenIntrospection(client, tokens.access_token)).active).to.equal(true);
    });
  });
}

describe('client_secret_jwt: the plan\'s signed server-to-server requests', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('postgres+redis');
  });
  after(() => server.close());

  it('authenticates an HS256 client assertion once and refuses its replay', async function () {
    const { instance, clientSecret } = await addInstance(server, { tokenEndpointAuthMethod: 'client_secret_jwt' });
    const client = await oidc.discovery(new URL(server.issuer), instance.clientId, {}, oidc.ClientSecretJwt(clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
    expect((await oidc.clientCredentialsGrant(client)).access_token).to.be.a('string');

    const assertion = await clientAssertion(server, instance.clientId, clientSecret);
    const send = () => clientCredentialsWithAssertion(server, assertion);
    expect((await send()).status).to.equal(200);
    const replay = await send();
    expect(replay.status).to.equal(401);
    expect(await replay.json()).to.have.property('error', 'invalid_client');
  });
});
