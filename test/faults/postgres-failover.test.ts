/**
 * PostgreSQL as the production profile runs it: a primary with a streaming standby, haproxy in front sending
 * connections to the writable one (deploy/haproxy/postgres-writable-check), all started by the test. The primary is
 * killed while requests run and the standby promoted (pg_ctl promote): the service answers 503
 * temporarily_unavailable (never 500, never past the timeout), its pool drops the dead connections and it recovers
 * without a restart; what was written (and replicated) before is there: accounts, a refresh token, a browser session,
 * a revocation (without Redis, all of them live in PostgreSQL).
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { addAccount, addInstance, codeFlow, REDIRECT_URI, authorizationRequest, type SignedIn } from '../support/fixtures.js';
import { startLoad, summarize } from '../support/failover-load.js';
import { startReplicatedPostgres, type ReplicatedPostgres } from '../support/postgres-replication.js';
import { clientCalls } from '../support/client-calls.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

// Not the 500 ms of store-outages.test.ts: these tests run many processes at once, and a busy machine must not
// turn a slow answer into a 503 before anything is killed.
const STORE_TIMEOUT_MS = 1500;
/** The most an answer may take while Redis fails over: the request's Redis time and then some. */
const LATENCY_BOUND_MS = 3 * STORE_TIMEOUT_MS;

describe('faults: PostgreSQL primary killed under load, the standby promoted behind haproxy', function () {
  this.timeout(90_000);
  let postgres: ReplicatedPostgres;
  let server: TestServer;
  let clientId: string;
  let secret: string;
  let client: oidc.Configuration;
  let signedIn: SignedIn;

  const { tokenEndpoint, introspect, clientToken } = clientCalls(() => ({ url: server.url, clientId, secret }));

  before(async function () {
    postgres = await startReplicatedPostgres();
    const url = await postgres.createDatabase();
    server = await startTestServer(
      'postgres',
      { AUTH_DB_TIMEOUT_MS: String(STORE_TIMEOUT_MS) },
      { database: { env: { AUTH_DATABASE_URL: url }, drop: async () => undefined } },
    );
    await addAccount(server, 'failover-user');
    const added = await addInstance(server);
    ({ client } = added);
    clientId = added.instance.clientId;
    secret = added.clientSecret;
    signedIn = await codeFlow(client, { username: 'failover-user', scope: 'openid offline_access' });
  });
  after(async function () {
    await server?.close();
    await postgres?.remove();
  });

  it('answers 503 within the timeout while the primary is gone, recovers by itself, and keeps what was written', async function () {
    const revoked = await clientToken();
    expect((await tokenEndpoint('/token/revocation', { token: revoked })).status).to.equal(200);
    const before = await clientToken();
    await postgres.caughtUp();

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
      postgres.primary.kill();
      // What failover tooling (or the operator) does once the primary is seen gone.
      postgres.standby.promote();
      await load.recovered(killedAt, 10, 30_000);
    } finally {
      outcomes = await load.stop();
    }
    const summary = summarize(outcomes);
    console.log('      PostgreSQL primary killed, standby promoted:', JSON.stringify(summary));

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
    expect(await server.services.accounts.findByUsername('failover-user'), 'the account').not.to.equal(null);
    const { url } = await authorizationRequest(client, 'openid');
    const page = await signedIn.agent.open(url, {}, REDIRECT_URI);
    expect(page.status, 'the browser session signs in again without a password').to.equal(0);
    expect(new URL(page.url).searchParams.get('code')).to.be.a('string');

  });
});
