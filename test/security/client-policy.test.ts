// Attacks on the client-authenticated endpoints: every spelling of their paths, spoofed forwarding headers, and a
// stranger spending an instance's budget or guessing its secret. Each runs on every store set-up.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';
import { BrowserAgent } from '../support/browser-agent.js';
import {
  addAccount, addInstance, basicAuth, clientAssertion, clientCredentialsWithAssertion, codeFlow, freshAddress, openLoginPage, REDIRECT_URI,
} from '../support/fixtures.js';

const FORM = 'application/x-www-form-urlencoded';

/** Every client-authenticated endpoint, with a body that is a valid request there given valid client credentials. */
const ENDPOINTS: Record<string, string> = {
  '/token': 'grant_type=client_credentials',
  '/token/introspection': 'token=unknown',
  '/token/revocation': 'token=unknown',
  '/request': 'response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGF4T1lk9Q&code_challenge_method=S256',
};

/** The spellings oidc-provider's router runs for a route (ASCII case, one trailing slash). */
function runSpellings(path: string): string[] {
  const mixed = path.replace(/[a-z]/g, (letter, index: number) => (index % 2 ? letter.toUpperCase() : letter));
  return [path, `${path}/`, path.toUpperCase(), `${path.toUpperCase()}/`, mixed, `${mixed}/`];
}

/** Spellings the router does not run: they must stay 404 (pinned so that an upgrade widening them is noticed). */
function strangerSpellings(path: string): string[] {
  const percentEncoded = path.replace(/^\/(.)/, (_, letter: string) => `/%${letter.charCodeAt(0).toString(16)}`);
  // Letters whose Unicode case mapping lands on ASCII (Kelvin sign, long s): the router folds ASCII only.
  const lookalike = path.replace('k', '\u212a').replace('s', '\u017f');
  return [`${path}//`, `/${path}`, `${path}%2F`, percentEncoded, `${path}/x`, ...(lookalike === path ? [] : [lookalike])];
}

function post(server: TestServer, path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });
}

for (const backend of BACKENDS) {
  describe(`client endpoint policy on ${backend}`, function () {
    let server: TestServer;
    before(async function () {
      // One trusted hop (the test itself) lets a test speak from several addresses through X-Forwarded-For.
      server = await startTestServer(backend, { AUTH_TRUST_PROXY: '1', CLIENT_AUTH_FAILURES_PER_CLIENT: '5', CLIENT_AUTH_FAILURES_PER_IP: '1000' });
    });
    after(() => server.close());

    it('applies the allowlist on every spelling of every client endpoint the provider runs', async function () {
      const { instance, clientSecret } = await addInstance(server, { ipAllowlist: ['10.9.9.0/24'], rateLimit: 1000 });
      const authorization = basicAuth(instance.clientId, clientSecret);
      for (const [path, body] of Object.entries(ENDPOINTS)) {
        for (const spelling of runSpellings(path)) {
          // A new address each time: refusals count against the caller's failure budget, which is not the point here.
          const response = await post(server, spelling, body, { authorization, 'x-forwarded-for': freshAddress() });
          expect(response.status, `${spelling}`).to.equal(401);
          expect(await response.json(), spelling).to.deep.equal({
            error: 'invalid_client',
            error_description: 'this instance may not call from this address',
          });
        }
        for (const spelling of strangerSpellings(path)) {
          expect((await post(server, spelling, body, { authorization })).status, spelling).to.equal(404);
        }
      }
    });

    it('charges the rate limit on every spelling: 5 a minute means 5', async function () {
      const { instance, clientSecret } = await addInstance(server, { rateLimit: 5 });
      const authorization = basicAuth(instance.clientId, clientSecret);
      const spellings = runSpellings('/token');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await post(server, spellings[i % spellings.length] as string, ENDPOINTS['/token'] as string, { authorization })).status);
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    });

    it('holds the rate limit against 20 parallel calls', async function () {
      const { instance, clientSecret } = await addInstance(server, { rateLimit: 5 });
      const authorization = basicAuth(instance.clientId, clientSecret);
      const responses = await Promise.all(Array.from({ length: 20 }, () => post(server, '/token', ENDPOINTS['/token'] as string, { authorization })));
      expect(responses.filter((response) => response.status === 200)).to.have.length(5);
      const refused = responses.filter((response) => response.status === 429);
      expect(refused).to.have.length(15);
      const sample = refused[0] as Response;
      expect(Number(sample.headers.get('retry-after'))).to.be.within(1, 60);
      expect(sample.headers.get('ratelimit-policy')).to.equal('"instance";q=5;w=60');
      expect(sample.headers.get('ratelimit')).to.match(/^"instance";r=0;t=\d+$/);
      expect(await sample.json()).to.have.property('error', 'temporarily_unavailable');
    });

    it('puts PAR and JWT-authenticated calls under the same policy', async function () {
      const jwt = await addInstance(server, { ipAllowlist: ['10.9.9.0/24'], tokenEndpointAuthMethod: 'client_secret_jwt' });
      const byAssertion = await clientCredentialsWithAssertion(server, await clientAssertion(server, jwt.instance.clientId, jwt.clientSecret));
      expect(byAssertion.status).to.equal(401);
      const viaPost = await addInstance(server, { ipAllowlist: ['10.9.9.0/24'], tokenEndpointAuthMethod: 'client_secret_post' });
      const form = new URLSearchParams({ client_id: viaPost.instance.clientId, client_secret: viaPost.clientSecret });
      const par = await post(server, '/Request/', `${ENDPOINTS['/request']}&${form}`);
      expect(par.status).to.equal(401);
    });

    it('serves an instance from inside its allowlist', async function () {
      const { client } = await addInstance(server, { ipAllowlist: ['127.0.0.0/8', '::1/128', '::ffff:127.0.0.0/104'] });
      expect((await oidc.clientCredentialsGrant(client)).access_token).to.be.a('string');
    });

    it('does not let a stranger who knows only the client_id spend the budget', async function () {
      const { instance, clientSecret } = await addInstance(server, { rateLimit: 3 });
      const from = (address: string) => ({ 'x-forwarded-for': address });
      const strangerAddress = freshAddress();
      const stranger = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(server, '/token', ENDPOINTS['/token'] as string, { ...from(strangerAddress), authorization: basicAuth(instance.clientId, `guess-${i}`) }),
        ),
      );
      expect(stranger.every((response) => response.status === 401 || response.status === 429)).to.equal(true);
      const bare = await post(server, '/token', `${ENDPOINTS['/token']}&client_id=${instance.clientId}`, from(freshAddress()));
      expect(bare.status).to.equal(401);
      const own = [];
      const instanceAddress = freshAddress();
      for (let i = 0; i < 4; i++) {
        own.push((await post(server, '/token', ENDPOINTS['/token'] as string, { ...from(instanceAddress), authorization: basicAuth(instance.clientId, clientSecret) })).status);
      }
      expect(own).to.deep.equal([200, 200, 200, 429]);
    });

    it('lets no more than the failure budget of secret guesses be answered, whatever the concurrency', async function () {
      const { instance } = await addInstance(server);
      const address = freshAddress();
      const guesses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(server, '/token/introspection', 'token=x', { 'x-forwarded-for': address, authorization: basicAuth(instance.clientId, `guess-${i}`) }),
        ),
      );
      const statuses = guesses.map((response) => response.status).sort();
      expect(statuses.filter((status) => status === 401)).to.have.length(5);
      expect(statuses.filter((status) => status === 429)).to.have.length(15);
      const refused = guesses.find((response) => response.status === 429) as Response;
      expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 900);
      expect(refused.headers.get('ratelimit-policy')).to.equal('"client-auth-failures";q=5;w=900');
    });

    it('counts replayed assertions as failures too', async function () {
      const jwt = await addInstance(server, { tokenEndpointAuthMethod: 'client_secret_jwt' });
      const assertion = await clientAssertion(server, jwt.instance.clientId, jwt.clientSecret);
      expect((await clientCredentialsWithAssertion(server, assertion)).status).to.equal(200);
      const replays = [];
      for (let i = 0; i < 6; i++) replays.push((await clientCredentialsWithAssertion(server, assertion)).status);
      expect(replays).to.deep.equal([401, 401, 401, 401, 401, 429]);
    });

    it('translates JWT access tokens at every spelling of userinfo, in the header and in a form body', async function () {
      // A username may not hold the "+" of postgres+redis.
      const username = `me-${backend.replace('+', '-')}`;
      await addAccount(server, username);
      const { client } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username });
      for (const spelling of ['/me', '/ME', '/Me/']) {
        const byHeader = await fetch(`${server.url}${spelling}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        expect(byHeader.status, spelling).to.equal(200);
        expect(await byHeader.json()).to.have.property('preferred_username', username);
        const byForm = await post(server, spelling, new URLSearchParams({ access_token: tokens.access_token }).toString());
        expect(byForm.status, spelling).to.equal(200);
        expect(await byForm.json()).to.have.property('preferred_username', username);
      }
      const introspection = await post(server, '/TOKEN/INTROSPECTION/', new URLSearchParams({ token: tokens.access_token }).toString(), {
        authorization: basicAuth(client.clientMetadata().client_id, client.clientMetadata().client_secret as string),
      });
      expect(await introspection.json()).to.have.property('active', true);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`instances sharing one address on ${backend}`, function () {
    let server: TestServer;
    before(async function () {
      // The test is the one trusted proxy: every call below comes from the address it appends, as through a shared
      // egress; what a caller writes to the left of it is its own spoofing. Instance B alone can spend the address.
      server = await startTestServer(backend, { AUTH_TRUST_PROXY: '1', CLIENT_AUTH_FAILURES_PER_IP: '5', CLIENT_AUTH_FAILURES_PER_CLIENT: '10' });
    });
    after(() => server.close());

    /** Headers from `address`, with a spoofed entry of the caller's own on the left for every other call. */
    const from = (address: string, i: number) => ({ 'x-forwarded-for': i % 2 ? `${freshAddress()}, ${address}` : address });

    /** Spends the address's failure budget with B's wrong secrets, 20 at once; each one is either answered or refused. */
    async function spendAddress(address: string, clientId: string): Promise<void> {
      const guesses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(server, '/token', ENDPOINTS['/token'] as string, { ...from(address, i), authorization: basicAuth(clientId, `guess-${i}`) })),
      );
      const statuses = guesses.map(({ status }) => status);
      expect(statuses.filter((status) => status === 401)).to.have.length(5);
      expect(statuses.filter((status) => status === 429)).to.have.length(15);
    }

    it("admits an instance with its own secret on every client endpoint though another instance's failures spent the address", async function () {
      const address = freshAddress();
      const a = await addInstance(server);
      const b = await addInstance(server);
      const authorization = basicAuth(a.instance.clientId, a.clientSecret);
      const token = ((await (await post(server, '/token', ENDPOINTS['/token'] as string, { ...from(address, 0), authorization })).json()) as { access_token: string })
        .access_token;
      await spendAddress(address, b.instance.clientId);

      // A, 20 at once: both fast paths, and the provider's own token, introspection and revocation endpoints.
      const calls: [string, string][] = [
        ['/token', ENDPOINTS['/token'] as string],
        ['/token/introspection', new URLSearchParams({ token }).toString()],
        ['/token', `${ENDPOINTS['/token']}&unlisted=1`],
        ['/token/introspection', new URLSearchParams({ token, token_type_hint: 'refresh_token' }).toString()],
        ['/token/revocation', 'token=unknown'],
      ];
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const [path, body] = calls[i % calls.length] as [string, string];
          const response = await post(server, path, body, { ...from(address, i), authorization });
          return { path, body, status: response.status, json: (await response.json().catch(() => ({}))) as { access_token?: string; active?: boolean } };
        }),
      );
      for (const answer of answers) {
        expect(answer.status, `${answer.path} ${answer.body.slice(0, 40)}`).to.equal(200);
        if (answer.path === '/token') expect(answer.json.access_token).to.be.a('string');
        if (answer.path === '/token/introspection') expect(answer.json.active).to.equal(true);
      }

      // B, right secret or wrong, and any made-up client id: the address's budget is spent for them.
      const b429 = await post(server, '/token', ENDPOINTS['/token'] as string, { ...from(address, 1), authorization: basicAuth(b.instance.clientId, b.clientSecret) });
      expect(b429.status).to.equal(429);
      expect(b429.headers.get('ratelimit-policy')).to.equal('"client-auth-failures";q=10;w=900');
      for (const [i, clientId] of [b.instance.clientId, 'no-such-client'].entries()) {
        const refused = await post(server, '/token/introspection', `token=${token}`, { ...from(address, i), authorization: basicAuth(clientId, 'guess') });
        expect(refused.status, clientId).to.equal(429);
        expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 900);
      }
      // Elsewhere, B is only over its own budget (20 guesses counted); a fresh stranger is not over anything.
      expect((await post(server, '/token', ENDPOINTS['/token'] as string, { 'x-forwarded-for': freshAddress(), authorization: basicAuth('no-such-client', 'x') })).status).to.equal(401);
    });

    it("refuses a guess at an instance once the address is spent, unanswered, and counts it against that instance's own budget", async function () {
      const address = freshAddress();
      const a = await addInstance(server);
      const b = await addInstance(server);
      await spendAddress(address, b.instance.clientId);
      const guesses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(server, '/token/introspection', 'token=x', { ...from(address, i), authorization: basicAuth(a.instance.clientId, `guess-${i}`) }),
        ),
      );
      expect(guesses.map(({ status }) => status)).to.deep.equal(Array.from({ length: 20 }, () => 429));
      // Those guesses spent A's budget at this address: now its right secret is refused here too, but not elsewhere.
      const authorization = basicAuth(a.instance.clientId, a.clientSecret);
      expect((await post(server, '/token', ENDPOINTS['/token'] as string, { ...from(address, 0), authorization })).status).to.equal(429);
      expect((await post(server, '/token', ENDPOINTS['/token'] as string, { 'x-forwarded-for': freshAddress(), authorization })).status).to.equal(200);
    });
  });
}

describe('forwarded client addresses', function () {
  const allowlisted = (server: TestServer) => addInstance(server, { ipAllowlist: ['10.9.9.0/24'] });
  const tokenCall = (server: TestServer, authorization: string, forwardedFor?: string) =>
    post(server, '/token', ENDPOINTS['/token'] as string, { authorization, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) });

  it('ignores X-Forwarded-For when no proxy is trusted', async function () {
    const server = await startTestServer('sqlite');
    try {
      const { instance, clientSecret } = await allowlisted(server);
      expect((await tokenCall(server, basicAuth(instance.clientId, clientSecret), '10.9.9.5')).status).to.equal(401);
    } finally {
      await server.close();
    }
  });

  it('with a hop count, takes the client as the rightmost untrusted hop', async function () {
    const server = await startTestServer('postgres+redis', { AUTH_TRUST_PROXY: '1' });
    try {
      const { instance, clientSecret } = await allowlisted(server);
      const authorization = basicAuth(instance.clientId, clientSecret);
      expect((await tokenCall(server, authorization, '10.9.9.5')).status).to.equal(200);
      // A client that writes the allowed address itself: the proxy appends the real one on the right.
      expect((await tokenCall(server, authorization, `10.9.9.5, ${freshAddress()}`)).status).to.equal(401);
    } finally {
      await server.close();
    }
  });

  it('with a list of proxies, skips only those', async function () {
    const server = await startTestServer('postgres', { AUTH_TRUST_PROXY: '127.0.0.1, ::1, ::ffff:127.0.0.1, 192.0.2.0/24' });
    try {
      const { instance, clientSecret } = await allowlisted(server);
      const authorization = basicAuth(instance.clientId, clientSecret);
      expect((await tokenCall(server, authorization, '10.9.9.5, 192.0.2.10')).status).to.equal(200);
      expect((await tokenCall(server, authorization, `10.9.9.5, ${freshAddress()}, 192.0.2.10`)).status).to.equal(401);
      const failed = await tokenCall(server, basicAuth(instance.clientId, 'wrong'), '10.9.9.5, 192.0.2.10');
      expect(failed.status).to.equal(401);
    } finally {
      await server.close();
    }
  });

  it('records the resolved address in the audit trail, never the spoofed one', async function () {
    const server = await startTestServer('sqlite');
    try {
      const { instance, clientSecret } = await addInstance(server);
      const response = await post(server, '/token', 'grant_type=authorization_code&code=bogus&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&code_verifier=x', {
        authorization: basicAuth(instance.clientId, clientSecret),
        'x-forwarded-for': '10.9.9.5',
      });
      expect(response.status).to.equal(400);
      const [event] = await server.services.audit.recent(1);
      expect(event?.ip).to.match(/127\.0\.0\.1$/);
    } finally {
      await server.close();
    }
  });

  it('keys the per-address sign-in limit on the resolved address: a made-up X-Forwarded-For dodges nothing', async function () {
    // PostgreSQL alone: its counters start empty with the scratch database, where Redis would remember 127.0.0.1.
    const server = await startTestServer('postgres', { LOGIN_RATE_LIMIT: '3' });
    try {
      await addAccount(server, 'spoofer');
      const { client } = await addInstance(server);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const agent = new BrowserAgent({ 'x-forwarded-for': freshAddress() });
        const page = (await openLoginPage(client, agent)).page;
        statuses.push((await agent.signIn(page, 'spoofer', 'wrong password', REDIRECT_URI)).status);
      }
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
    } finally {
      await server.close();
    }
  });

  it('counts calls as unknown clients against the address, whatever client_id they make up', async function () {
    // PostgreSQL alone: its counters start empty with the scratch database, where Redis would remember 127.0.0.1.
    const server = await startTestServer('postgres', { CLIENT_AUTH_FAILURES_PER_IP: '5' });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await post(server, '/token', ENDPOINTS['/token'] as string, { authorization: basicAuth(`no-such-client-${i}`, 'x') })).status);
      }
      expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429]);
    } finally {
      await server.close();
    }
  });

  it('refuses AUTH_TRUST_PROXY=true: the proxies must be named', async function () {
    const { loadConfig } = await import('../../config/index.js');
    expect(() => loadConfig({ AUTH_TRUST_PROXY: 'true' })).to.throw(/AUTH_TRUST_PROXY/);
    expect(loadConfig({ AUTH_TRUST_PROXY: '2', AUTH_DATA_DIR: '/tmp' }).trustProxy).to.equal(2);
  });
});
