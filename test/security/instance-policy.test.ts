import { expect } from 'chai';
import * as oidc from 'openid-client';
import { parseAllowlist } from '../../src/security/instance-policy.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addInstance, basicAuth, clientAssertion, clientCredentialsWithAssertion } from '../support/fixtures.js';

describe('per-instance IP allowlists and rate limits', function () {
  let server: TestServer;
  const tokenRequest = (authorization: string) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });

  before(async function () {
    server = await startTestServer('postgres+redis');
  });
  after(() => server.close());

  it('parses addresses and CIDR ranges, and names a bad entry', function () {
    const list = parseAllowlist(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    expect(list.check('10.1.2.3', 'ipv4')).to.equal(true);
    expect(list.check('192.168.1.7', 'ipv4')).to.equal(true);
    expect(list.check('192.168.1.8', 'ipv4')).to.equal(false);
    expect(list.check('fd12::1', 'ipv6')).to.equal(true);
    expect(() => parseAllowlist(['10.0.0.0/33'])).to.throw(/10.0.0.0\/33/);
    expect(() => parseAllowlist(['example.com'])).to.throw(/example.com/);
  });

  it('refuses an instance calling from outside its allowlist with 401 invalid_client, whatever its credentials', async function () {
    const { instance, clientSecret } = await addInstance(server, { ipAllowlist: ['10.0.0.0/8'] });
    const response = await tokenRequest(basicAuth(instance.clientId, clientSecret));
    expect(response.status).to.equal(401);
    expect(await response.json()).to.have.property('error', 'invalid_client');
    const introspection = await fetch(`${server.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth(instance.clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=x',
    });
    expect(introspection.status).to.equal(401);
  });

  it('recognizes the caller by client_id in the body and by a client assertion too', async function () {
    const post = await addInstance(server, { ipAllowlist: ['10.0.0.0/8'], tokenEndpointAuthMethod: 'client_secret_post' });
    const byBody = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: post.instance.clientId, client_secret: post.clientSecret }),
    });
    expect(byBody.status).to.equal(401);
    const jwt = await addInstance(server, { ipAllowlist: ['10.0.0.0/8'], tokenEndpointAuthMethod: 'client_secret_jwt' });
    const assertion = await clientAssertion(server, jwt.instance.clientId, jwt.clientSecret);
    const byAssertion = await clientCredentialsWithAssertion(server, assertion);
    expect(byAssertion.status).to.equal(401);
  });

  it('serves an instance calling from inside its allowlist', async function () {
    const { client } = await addInstance(server, { ipAllowlist: ['127.0.0.0/8', '::1/128'] });
    expect((await oidc.clientCredentialsGrant(client)).access_token).to.be.a('string');
  });

  it('answers 429 with Retry-After once an instance is over its rate limit, and leaves other instances alone', async function () {
    const limited = await addInstance(server, { rateLimit: 3 });
    const other = await addInstance(server);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await tokenRequest(basicAuth(limited.instance.clientId, limited.clientSecret))).status);
    expect(statuses).to.deep.equal([200, 200, 200, 429]);
    const refused = await tokenRequest(basicAuth(limited.instance.clientId, limited.clientSecret));
    expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
    expect(await refused.json()).to.have.property('error', 'temporarily_unavailable');
    expect((await tokenRequest(basicAuth(other.instance.clientId, other.clientSecret))).status).to.equal(200);
  });

  it('refuses to register a bad allowlist entry or rate limit', async function () {
    for (const input of [{ ipAllowlist: ['not-an-ip'] }, { rateLimit: 0 }, { rateLimit: 1.5 }]) {
      await server.services.instances.create({ name: 'x', redirectUris: ['http://127.0.0.1:9/cb'], ...input }).then(
        () => expect.fail(`accepted ${JSON.stringify(input)}`),
        (error: Error) => expect(error.name).to.equal('AppError'),
      );
    }
  });
});
