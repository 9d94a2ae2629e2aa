/**
 * Redis behind Sentinel (AUTH_REDIS_SENTINELS), on a primary, a replica and three sentinels the test starts: the
 * primary killed while requests run. The service answers 503 temporarily_unavailable (never 500, never past the
 * timeout) until the sentinels have promoted the replica, then recovers by itself; what was written (and replicated)
 * before the kill is still there: a refresh token, a browser session, a revocation.
 * With AUTH_REDIS_WAIT_REPLICAS=1 a revocation is confirmed only once the replica holds it: with the replica frozen it
 * is answered 503, never 200.
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Redis } from 'ioredis';
import { addAccount, addInstance, codeFlow, REDIRECT_URI, authorizationRequest, type SignedIn } from '../support/fixtures.js';
import { startLoad, summarize } from '../support/failover-load.js';
import { startRedisSentinels, type RedisSentinelSet } from '../support/redis-topologies.js';
import { clientCalls } from '../support/client-calls.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

// Not the 500 ms of store-outages.test.ts: these tests run many processes at once, and a busy machine must not
// turn a slow answer into a 503 before anything is killed.
const STORE_TIMEOUT_MS = 1500;
/** The most an answer may take while Redis fails over: the request's Redis time and then some. */
const LATENCY_BOUND_MS = 3 * STORE_TIMEOUT_MS;

describe('faults: Redis with Sentinel, the primary killed under load', function () {
  this.timeout(90_000);
  let redis: RedisSentinelSet;
  let server: TestServer;
  let clientId: string;
  let secret: string;
  let client: oidc.Configuration;
  let signedIn: SignedIn;

  const { tokenEndpoint, introspect, clientToken } = clientCalls(() => ({ url: server.url, clientId, secret }));

  before(async function () {
    redis = await startRedisSentinels();
    const nodes = redis.sentinels.map((node) => `127.0.0.1:${node.port}`).join(',');
    server = await startTestServer('postgres', {
      AUTH_REDIS_URL: '',
      AUTH_REDIS_SENTINELS: nodes,
      AUTH_REDIS_SENTINEL_NAME: redis.name,
      AUTH_REDIS_WAIT_REPLICAS: '1',
      AUTH_DB_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      AUTH_REDIS_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    });
    await addAccount(server, 'sentinel-user');
    const added = await addInstance(server);
    ({ client } = added);
    clientId = added.instance.clientId;
    secret = added.clientSecret;
    signedIn = await codeFlow(client, { username: 'sentinel-user', scope: 'openid offline_access' });
  });
  after(async function () {
    await server?.close();
    await redis?.remove();
  });

  it('confirms a revocation only once the replica holds it: 503 while the replica is frozen, 200 after', async function () {
    const token = await clientToken();
    const replica = redis.servers[1]!;
    replica.freeze();
    let whileFrozen: Response;
    try {
      whileFrozen = await tokenEndpoint('/token/revocation', { token });
    } finally {
      replica.thaw();
    }
    expect(whileFrozen.status, await whileFrozen.clone().text()).to.equal(503);
    expect(((await whileFrozen.json()) as { error: string }).error).to.equal('temporarily_unavailable');
    // The replica back in step before the next test counts on it to be promoted.
    const primary = new Redis({ port: await redis.primaryPort(), lazyConnect: true });
    try {
      await primary.connect();
      expect(await primary.wait(1, 5000), 'the replica acknowledges again').to.equal(1);
    } finally {
      primary.disconnect();
    }
    const confirmed = await tokenEndpoint('/token/revocation', { token });
    expect(confirmed.status).to.equal(200);
    expect((await introspect(token)).active).to.equal(false);
  });

  it('answers 503 within the timeout while the primary is gone, recovers by itself, and keeps what was written', async function () {
    const revoked = await clientToken();
    expect((await tokenEndpoint('/token/revocation', { token: revoked })).status).to.equal(200);
    const before = await clientToken();
    const oldPrimary = await redis.primaryPort();

    const load = startLoad({
      client_credentials: async () => {
        const response = await tokenEndpoint('/token', { grant_type: 'client_credentials' });
        return { status: response.status, body: await response.text() };
      },
      introspection: async () => {
        const response = await tokenEndpoint('/token/introspection', { token: before });
        return { status: response.status, body: await response.text() };
      },
    });
    let outcomes;
    let killedAt = 0;
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      killedAt = performance.now();
      await redis.servers.find((node) => node.port === oldPrimary)!.kill();
      await load.recovered(killedAt, 10, 30_000);
    } finally {
      outcomes = await load.stop();
    }
    const summary = summarize(outcomes);
    console.log('      Redis primary killed (Sentinel):', JSON.stringify(summary));

    expect(await redis.primaryPort(), 'a new primary').not.to.equal(oldPrimary);
    for (const outcome of outcomes) {
      const what = `${outcome.kind} ${outcome.status} ${outcome.body.slice(0, 200)}`;
      expect([200, 503], what).to.include(outcome.status);
      if (outcome.status === 503) expect(outcome.error, what).to.equal('temporarily_unavailable');
      expect(outcome.endedAt - outcome.startedAt, what).to.be.below(LATENCY_BOUND_MS);
    }
    expect(outcomes.filter((outcome) => outcome.status === 503), 'the kill was felt').not.to.have.length(0);

    // What was written before the kill (and replicated) is still there.
    const refreshed = await oidc.refreshTokenGrant(client, signedIn.tokens.refresh_token as string);
    expect(refreshed.access_token).to.be.a('string');
    expect((await introspect(before)).active, 'a token issued before').to.equal(true);
    expect((await introspect(revoked)).active, 'a token revoked before').to.equal(false);
    const { url } = await authorizationRequest(client, 'openid');
    const page = await signedIn.agent.open(url, {}, REDIRECT_URI);
    expect(page.status, 'the browser session signs in again without a password').to.equal(0);
    expect(new URL(page.url).searchParams.get('code')).to.be.a('string');

    // The old primary's data is on the new one.
    const promoted = new Redis({ port: await redis.primaryPort(), lazyConnect: true });
    try {
      await promoted.connect();
      expect(await promoted.info('replication')).to.contain('role:master');
    } finally {
      promoted.disconnect();
    }
  });
});
