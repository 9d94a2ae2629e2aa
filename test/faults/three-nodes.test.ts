/**
 * The production profile on loopback: three server processes behind a real haproxy (health check GET /readyz), Redis
 * with Sentinel (primary, replica, three sentinels), PostgreSQL primary + streaming standby behind haproxy's writable
 * check. Sign-ins and refreshes run in loops while the test kills, in turn, one node, the Redis primary and the
 * PostgreSQL primary (the standby then promoted). For each kill it reports the failed requests per kind and the longest
 * stretch without a success, and checks that sessions and refresh tokens made before the kill still work after it.
 * Run alone: `npx mocha test/faults/three-nodes.test.ts` (the figures go to docs/operations.md).
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { openStores } from '../../src/stores.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { startLoad, summarize, type Outcome } from '../support/failover-load.js';
import { authorizationRequest, basicAuth, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { freePorts } from '../support/free-port.js';
import { startHaproxy, type Haproxy } from '../support/haproxy.js';
import { output, startMain } from '../support/main-process.js';
import { startReplicatedPostgres, type ReplicatedPostgres } from '../support/postgres-replication.js';
import { startRedisSentinels, type RedisSentinelSet } from '../support/redis-topologies.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';
import * as oidc from 'openid-client';

const USERNAME = 'three-nodes-user';
// Generous: seven server processes and haproxy share the machine here, and a slow start must not fail the run (this
// test bounds recovery, not latency; redis-sentinel and postgres-failover bound the answers' time).
const STORE_TIMEOUT_MS = 3000;

/** Waits until a node started from source (three at once on a busy machine take a while) answers /readyz 200. */
async function ready(port: number, child: ChildProcess, read: () => string): Promise<void> {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    if (child.exitCode !== null) throw new Error(`node exited ${child.exitCode}: ${read()}`);
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`node on ${port} not ready within 60 s: ${read()}`);
}

describe('faults: three nodes behind haproxy, one node, the Redis primary and the PostgreSQL primary killed in turn', function () {
  this.timeout(110_000);
  let redis: RedisSentinelSet;
  let postgres: ReplicatedPostgres;
  let balancer: Haproxy;
  const nodes: ChildProcess[] = [];
  /** What each node logged (warnings and errors), for the message of a failure. */
  const nodeLogs: (() => string)[] = [];
  let issuer: string;
  let client: oidc.Configuration;
  let clientId: string;
  let secret: string;

  before(async function () {
    [redis, postgres] = await Promise.all([startRedisSentinels(), startReplicatedPostgres()]);
    const [balancerPort, ...nodePorts] = await freePorts(4);
    issuer = `http://127.0.0.1:${balancerPort}`;
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      LOGIN_RATE_LIMIT: '100000',
      CLIENT_AUTH_FAILURES_PER_IP: '100000',
      CLIENT_AUTH_FAILURES_PER_CLIENT: '100000',
      AUTH_SECRET_KEY: TEST_SECRET_KEY,
      AUTH_ISSUER: issuer,
      AUTH_HOST: '127.0.0.1',
      AUTH_DATABASE_URL: await postgres.createDatabase(),
      AUTH_REDIS_SENTINELS: redis.sentinels.map((node) => `127.0.0.1:${node.port}`).join(','),
      AUTH_REDIS_SENTINEL_NAME: redis.name,
      AUTH_DB_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      AUTH_REDIS_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    };
    const stores = await openStores(loadConfig(env), { schema: 'migrate' });
    try {
      await stores.accounts.create({ username: USERNAME, passwordHash: await stores.hasher.hash(PASSWORD) });
      const { instance, clientSecret } = await stores.instances.create({
        name: 'Three nodes instance',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code', 'refresh_token'],
        skipConsent: true,
      });
      clientId = instance.clientId;
      secret = clientSecret as string;
    } finally {
      await stores.close();
    }
    await Promise.all(
      nodePorts.map(async (port) => {
        const child = startMain({ ...env, AUTH_PORT: String(port) });
        nodes.push(child);
        const read = output(child);
        nodeLogs.push(read);
        await ready(port!, child, read);
      }),
    );
    balancer = await startHaproxy(
      () => `
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
listen auth
  bind 127.0.0.1:${balancerPort}
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500 fall 1 rise 2
${nodePorts.map((port, index) => `  server node-${index + 1} 127.0.0.1:${port} check`).join('\n')}
`,
      balancerPort!,
    );
    client = await oidc.discovery(new URL(issuer), clientId, secret, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  after(async function () {
    await balancer?.stop();
    for (const node of nodes) node.kill('SIGKILL');
    await Promise.allSettled([redis?.remove(), postgres?.remove()]);
  });

  /** A sign-in through the balancer: the sign-in page, the password, the code redeemed. Its agent keeps the session. */
  async function signIn(agent = new BrowserAgent()): Promise<{ status: number; body: string; agent: BrowserAgent; refreshToken?: string }> {
    const { url, verifier } = await authorizationRequest(client, 'openid offline_access');
    let page = await agent.open(url, {}, REDIRECT_URI);
    if (page.status !== 0 && page.status !== 200) return { status: page.status, body: page.body, agent };
    if (page.status === 200) page = await agent.signIn(page, USERNAME, PASSWORD, REDIRECT_URI);
    if (page.status !== 0) return { status: page.status, body: page.body, agent };
    const code = new URL(page.url).searchParams.get('code') ?? '';
    const response = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
    const body = await response.text();
    const refreshToken = response.status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
    return { status: response.status, body, agent, refreshToken };
  }

  function tokenRequest(form: Record<string, string>): Promise<Response> {
    return fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
  }

  /**
   * Refreshes in a loop with a token chain of its own, keeping the last token that worked. A refresh cut short by a
   * store failing can leave its token used without a successor the client ever saw (or the successor lost with an
   * unreplicated write): the next refresh is then invalid_grant, and the chain starts again with a sign-in, as an
   * instance's user would. Those answers are counted (400) in the report.
   */
  async function refreshChain(): Promise<() => Promise<{ status: number; body: string }>> {
    let token = (await signIn()).refreshToken!;
    return async () => {
      const response = await tokenRequest({ grant_type: 'refresh_token', refresh_token: token });
      const body = await response.text();
      if (response.status === 200) token = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      if (response.status === 400) token = (await signIn()).refreshToken ?? token;
      return { status: response.status, body };
    };
  }

  /** Made before a kill: a browser session and a refresh token; after it, both must still work. */
  async function witness(): Promise<{ agent: BrowserAgent; refreshToken: string }> {
    const made = await signIn();
    expect(made.status, made.body).to.equal(200);
    return { agent: made.agent, refreshToken: made.refreshToken! };
  }

  async function expectWitnessWorks({ agent, refreshToken }: { agent: BrowserAgent; refreshToken: string }, what: string): Promise<void> {
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refreshed.status, `${what}: a refresh token made before: ${await refreshed.clone().text()}`).to.equal(200);
    const { url } = await authorizationRequest(client, 'openid');
    const page = await agent.open(url, {}, REDIRECT_URI);
    expect(page.status, `${what}: the session made before signs in without a password`).to.equal(0);
  }

  it('loses at most the requests in flight to a dead node, and a few seconds of 503s to a store failover', async function () {
    const refreshA = await refreshChain();
    const refreshB = await refreshChain();
    const load = startLoad(
      {
        'sign-in': async () => {
          const { status, body } = await signIn();
          return { status, body };
        },
        refresh: async () => refreshA(),
        'refresh-2': async () => refreshB(),
      },
      { loops: 1 },
    );
    const report: Record<string, unknown> = {};
    const kills: [string, () => Promise<void> | void][] = [
      ['node', async () => {
        nodes[0]!.kill('SIGKILL');
        await once(nodes[0]!, 'exit');
      }],
      ['redis primary', async () => {
        const port = await redis.primaryPort();
        await redis.servers.find((server) => server.port === port)!.kill();
      }],
      ['postgres primary', async () => {
        await postgres.caughtUp();
        postgres.primary.kill();
        postgres.standby.promote();
      }],
    ];
    let all: Outcome[] = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const [name, kill] of kills) {
        const before = await witness();
        const killedAt = performance.now();
        await kill();
        await load.recovered(killedAt, 3, 40_000).catch(async (error: Error) => {
          const logs = nodeLogs.map((read) => read().slice(-1500)).join('\n---\n');
          throw new Error(`${error.message}\nRedis primary now: ${await redis.primaryPort().catch(String)}\n${logs}`);
        });
        const window = load.outcomes.filter((outcome) => outcome.endedAt > killedAt);
        const summary = summarize(window);
        report[name] = summary;
        console.log(`      ${name} killed:`, JSON.stringify(summary));
        for (const outcome of window) {
          const what = `${name}: ${outcome.kind} ${outcome.status} ${outcome.body.slice(0, 200)}`;
          if (outcome.status === 400) expect(outcome.error, what).to.equal('invalid_grant');
          else expect([0, 200, 502, 503], what).to.include(outcome.status);
        }
        if (name === 'node') {
          // Only what was in flight on that node goes unanswered: at most one request of each loop. (A refresh cut off
          // there after its token was used can make the chain's next refresh invalid_grant: counted as 400, apart.)
          for (const [kind, { failed }] of Object.entries(summary.kinds)) {
            const unanswered = Object.entries(failed).filter(([status]) => status !== '400').reduce((sum, [, count]) => sum + count, 0);
            expect(unanswered, `${kind} failures after the node was killed`).to.be.at.most(1);
            expect(failed['400'] ?? 0, `${kind}: chains burned by the request in flight`).to.be.at.most(1);
          }
        }
        await expectWitnessWorks(before, name);
      }
    } finally {
      all = await load.stop();
    }
    expect(all.filter((outcome) => outcome.status === 500), 'never a 500').to.deep.equal([]);
  });
});
