import { expect } from 'chai';
import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BrowserAgent } from '../support/browser-agent.js';

/** Sends the requests meant for the issuer to another node, as a load balancer would. */
function via(node: TestServer, issuer: string): oidc.CustomFetch {
  return (url, options) => fetch(url.replace(issuer, node.url), options as RequestInit);
}

describe('several nodes sharing PostgreSQL and Redis', function () {
  let first: TestServer;
  let second: TestServer;
  before(async function () {
    first = await startTestServer('postgres+redis');
    second = await startTestServer('postgres+redis', {}, { join: first });
    await addAccount(first, 'kim');
  });
  after(async function () {
    await second?.close();
    await first?.close();
  });

  it('publishes the same signing keys on every node', async function () {
    const [a, b] = await Promise.all([first.url, second.url].map(async (url) => (await fetch(`${url}/jwks`)).json()));
    expect(b).to.deep.equal(a);
  });

  it('signs in on one node, redeems the code, refreshes and introspects on the other, and keeps the session there', async function () {
    const { client } = await addInstance(first);
    client[oidc.customFetch] = via(second, first.issuer);
    const agent = new BrowserAgent();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(client, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const login = await agent.open(url.toString(), {}, REDIRECT_URI);
    const callback = await agent.signIn(login, 'kim', PASSWORD, REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(client, new URL(callback.url), { pkceCodeVerifier: verifier });
    expect((await oidc.tokenIntrospection(client, tokens.access_token)).active).to.equal(true);
    const refreshed = await oidc.refreshTokenGrant(client, tokens.refresh_token!);
    expect(refreshed.access_token).to.be.a('string');

    const onSecond = new URL(url.toString().replace(first.url, second.url));
    const sso = await agent.open(onSecond.toString(), {}, REDIRECT_URI);
    expect(sso.status, 'straight back to the instance, no login page').to.equal(0);
  });
});
