import { expect } from 'chai';
import { SignJWT, generateKeyPair, UnsecuredJWT } from 'jose';
import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, basicAuth, codeFlow } from '../support/fixtures.js';

describe('bad input gets the right OAuth error, never a 500', function () {
  let server: TestServer;
  let clientId: string;
  let secret: string;
  let accessToken: string;
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${server.issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });

  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'carol');
    const { instance, clientSecret, client } = await addInstance(server);
    clientId = instance.clientId;
    secret = clientSecret;
    accessToken = (await codeFlow(client, { username: 'carol' })).tokens.access_token;
  });
  after(() => server.close());

  for (const path of ['/token', '/token/introspection', '/token/revocation']) {
    it(`${path}: no client authentication is 401 invalid_client`, async function () {
      const response = await post(path, { grant_type: 'client_credentials', token: 'x' });
      expect(response.status).to.equal(401);
      expect(await response.json()).to.have.property('error', 'invalid_client');
    });

    it(`${path}: a wrong secret is 401 invalid_client`, async function () {
      const response = await post(path, { grant_type: 'client_credentials', token: 'x' }, { authorization: basicAuth(clientId, 'wrong') });
      expect(response.status).to.equal(401);
      expect(await response.json()).to.have.property('error', 'invalid_client');
    });

    it(`${path}: an unknown client is 401 invalid_client`, async function () {
      const response = await post(path, { grant_type: 'client_credentials', token: 'x' }, { authorization: basicAuth('nobody', secret) });
      expect(response.status).to.equal(401);
      expect(await response.json()).to.have.property('error', 'invalid_client');
    });
  }

  it('/token: an unsupported grant type is 400 unsupported_grant_type', async function () {
    const response = await post('/token', { grant_type: 'password', username: 'carol', password: 'x' }, { authorization: basicAuth(clientId, secret) });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.have.property('error', 'unsupported_grant_type');
  });

  it('/token: a grant type the instance is not registered for is 400 unauthorized_client (RFC 6749 §5.2)', async function () {
    const userOnly = await addInstance(server, { grantTypes: ['authorization_code', 'refresh_token'] });
    const response = await post('/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(userOnly.instance.clientId, userOnly.clientSecret) });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.have.property('error', 'unauthorized_client');
  });

  it('/token: a made-up authorization code is 400 invalid_grant', async function () {
    const response = await post(
      '/token',
      { grant_type: 'authorization_code', code: 'made-up', redirect_uri: 'http://127.0.0.1:9/callback', code_verifier: 'a'.repeat(43) },
      { authorization: basicAuth(clientId, secret) },
    );
    expect(response.status).to.equal(400);
    expect(await response.json()).to.have.property('error', 'invalid_grant');
  });

  it('/token: a missing grant_type is 400 invalid_request', async function () {
    const response = await post('/token', {}, { authorization: basicAuth(clientId, secret) });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.have.property('error', 'invalid_request');
  });

  it('/token/introspection: a missing token is 400 invalid_request', async function () {
    const response = await post('/token/introspection', {}, { authorization: basicAuth(clientId, secret) });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.have.property('error', 'invalid_request');
  });

  it('/token/introspection: garbage, forged and unsigned tokens are inactive', async function () {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ jti: 'x', client_id: clientId, scope: 'openid' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer(server.issuer)
      .setAudience(clientId)
      .setSubject('someone')
      .setExpirationTime('5m')
      .sign(privateKey);
    const unsigned = new UnsecuredJWT({ jti: 'x' }).setIssuer(server.issuer).setAudience(clientId).encode();
    for (const token of ['garbage', forged, unsigned, 'a.b.c']) {
      const response = await post('/token/introspection', { token }, { authorization: basicAuth(clientId, secret) });
      expect(response.status, token).to.equal(200);
      expect(await response.json(), token).to.deep.equal({ active: false });
    }
  });

  it('/token/revocation: an unknown token is accepted quietly (RFC 7009 §2.2)', async function () {
    const response = await post('/token/revocation', { token: 'garbage' }, { authorization: basicAuth(clientId, secret) });
    expect(response.status).to.equal(200);
  });

  it('/me: no token, a garbage token and a forged one are 401 invalid_token', async function () {
    for (const authorization of [undefined, 'Bearer garbage', `Bearer ${accessToken.slice(0, -4)}AAAA`]) {
      const response = await fetch(`${server.issuer}/me`, { headers: authorization ? { authorization } : {} });
      expect(response.status, String(authorization)).to.equal(401);
      expect(response.headers.get('www-authenticate'), String(authorization)).to.match(/^Bearer/);
    }
  });

  it('/me: a client_credentials token has no user and is refused', async function () {
    const { client } = await addInstance(server);
    const { access_token } = await oidc.clientCredentialsGrant(client);
    const response = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${access_token}` } });
    // Invalid for userinfo (no user behind it): 401 invalid_token (RFC 6750 §3.1).
    expect(response.status).to.equal(401);
    expect(response.headers.get('www-authenticate')).to.match(/^Bearer .*error="invalid_token"/);
  });

  it('/auth: an unknown client gets the friendly error page, not a redirect', async function () {
    const response = await fetch(`${server.issuer}/auth?client_id=nobody&response_type=code&scope=openid`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    expect(response.status).to.equal(400);
    const page = await response.text();
    expect(page).to.contain('invalid_client').and.not.contain(' at ');
  });

  it('/auth: a request without PKCE is sent back with invalid_request', async function () {
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:9/callback' }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).to.equal(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).to.equal('invalid_request');
    expect(location.searchParams.get('error_description')).to.match(/PKCE/);
  });

  it('/interaction: an unknown interaction gets the error page', async function () {
    const response = await fetch(`${server.issuer}/interaction/unknown`, { headers: { accept: 'text/html' } });
    expect(response.status).to.equal(400);
    expect(response.headers.get('content-type')).to.match(/html/);
  });

  it('/interaction: a login post without a session cookie is a 400 page, not a 500', async function () {
    const response = await post('/interaction/unknown/login', { username: 'carol', password: 'x' }, { accept: 'text/html' });
    expect(response.status).to.equal(400);
  });

  it('sends the security headers on every page', async function () {
    const response = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    expect(response.headers.get('content-security-policy')).to.contain("default-src 'self'").and.contain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(response.headers.get('strict-transport-security')).to.be.a('string');
  });
});
