import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { addInstance, authorizationRequest, basicAuth, openLoginPage } from '../support/fixtures.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { startPostgresCluster, startRedisProcess, type PostgresCluster, type StoreProcess } from '../support/store-processes.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Small store timeouts keep the suite fast; every answer must come within a generous multiple of them. */
const STORE_TIMEOUT_MS = 500;
const LATENCY_BOUND_MS = 3 * STORE_TIMEOUT_MS;
const FAULT_ENV = { AUTH_DB_TIMEOUT_MS: String(STORE_TIMEOUT_MS), AUTH_REDIS_TIMEOUT_MS: String(STORE_TIMEOUT_MS) };

type Kind = 'client_credentials' | 'introspection' | 'discovery' | 'sign-in page' | 'authorization';

interface Answer {
  kind: Kind;
  status: number;
  type: string;
  retryAfter: string | null;
  body: string;
  ms: number;
}

/** What a deployment under test offers the load: an instance, one of its tokens, an open sign-in page. */
interface Fixture {
  server: TestServer;
  clientId: string;
  secret: string;
  accessToken: string;
  signInPage: { url: string; agent: BrowserAgent };
  authorizationUrl: string;
}

async function timed(kind: Kind, request: () => Promise<{ status: number; type: string; retryAfter: string | null; body: string }>): Promise<Answer> {
  const started = performance.now();
  const answer = await request();
  return { kind, ...answer, ms: performance.now() - started };
}

async function read(response: Response) {
  return { status: response.status, type: response.headers.get('content-type') ?? '', retryAfter: response.headers.get('retry-after'), body: await response.text() };
}

/** A browser's view of a page: the last answer after redirects, HTML accepted. */
async function browse(agent: BrowserAgent, url: string) {
  const page = await agent.open(url);
  return { status: page.status, type: 'text/html', retryAfter: null, body: page.body };
}

function tokenRequest(fixture: Pick<Fixture, 'server' | 'clientId' | 'secret'>, form: Record<string, string>, path = '/token'): Promise<Response> {
  return fetch(`${fixture.server.url}${path}`, {
    method: 'POST',
    headers: { authorization: basicAuth(fixture.clientId, fixture.secret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
}

/** About twenty requests at once, four of each kind: what an instance's users and servers send together. */
function load(fixture: Fixture): Promise<Answer[]> {
  const one = (kind: Kind): Promise<Answer> => {
    switch (kind) {
      case 'client_credentials':
        return timed(kind, async () => read(await tokenRequest(fixture, { grant_type: 'client_credentials' })));
      case 'introspection':
        return timed(kind, async () => read(await tokenRequest(fixture, { token: fixture.accessToken }, '/token/introspection')));
      case 'discovery':
        return timed(kind, async () => read(await fetch(`${fixture.server.url}/.well-known/openid-configuration`)));
      case 'sign-in page':
        return timed(kind, () => browse(fixture.signInPage.agent, fixture.signInPage.url));
      case 'authorization':
        return timed(kind, () => browse(new BrowserAgent(), fixture.authorizationUrl));
    }
  };
  const kinds: Kind[] = ['client_credentials', 'introspection', 'discovery', 'sign-in page', 'authorization'];
  return Promise.all(kinds.flatMap((kind) => Array.from({ length: 4 }, () => one(kind))));
}

async function prepare(server: TestServer): Promise<Fixture> {
  const { instance, clientSecret, client } = await addInstance(server);
  const fixture = { server, clientId: instance.clientId, secret: clientSecret };
  const issued = (await (await tokenRequest(fixture, { grant_type: 'client_credentials' })).json()) as { access_token: string };
  const { page, agent } = await openLoginPage(client);
  const { url } = await authorizationRequest(client);
  return { ...fixture, accessToken: issued.access_token, signInPage: { url: page.url, agent }, authorizationUrl: url };
}

/** Every answer within the bound; none a 500, none with a stack trace. */
function expectBounded(answers: Answer[]): void {
  for (const answer of answers) {
    expect(answer.ms, `${answer.kind} took ${Math.round(answer.ms)} ms`).to.be.below(LATENCY_BOUND_MS);
    expect(answer.body, answer.kind).not.to.match(/\n\s+at /);
  }
}

/** The answers while a store is out: 503 in the dialect of each kind of path; discovery needs no store and stays 200. */
function expectUnavailable(answers: Answer[]): void {
  expectBounded(answers);
  for (const answer of answers) {
    const what = `${answer.kind}: ${answer.status} ${answer.body.slice(0, 200)}`;
    if (answer.kind === 'discovery') {
      expect(answer.status, what).to.equal(200);
    } else if (answer.kind === 'client_credentials' || answer.kind === 'introspection') {
      expect(answer.status, what).to.equal(503);
      expect(answer.type, what).to.match(/^application\/json/);
      expect(answer.retryAfter, what).to.match(/^\d+$/);
      const body = JSON.parse(answer.body) as { error?: string; error_description?: string };
      expect(body.error, what).to.equal('temporarily_unavailable');
      expect(body.error_description, what).to.be.a('string');
    } else {
      expect(answer.status, what).to.equal(503);
      expect(answer.body, what).to.contain('Sign-in is unavailable right now').and.contain('try again shortly');
    }
  }
}

/**
 * After the store is back: polls until a token is issued and introspected again (each may reach the store through a
 * connection of its own while the pool reconnects), then every kind of request succeeds.
 */
async function expectRecovery(fixture: Fixture): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const issued = await tokenRequest(fixture, { grant_type: 'client_credentials' });
    const introspected = await tokenRequest(fixture, { token: fixture.accessToken }, '/token/introspection');
    if (issued.status === 200 && introspected.status === 200) break;
    if (attempt === 100) throw new Error('no token issued and introspected 10 s after the store came back');
    await sleep(100);
  }
  const answers = await load(fixture);
  expectBounded(answers);
  for (const answer of answers) expect(answer.status, `${answer.kind}: ${answer.body.slice(0, 200)}`).to.equal(200);
  const introspected = JSON.parse(answers.find(({ kind }) => kind === 'introspection')?.body ?? '{}') as { active?: boolean };
  expect(introspected.active).to.equal(true);
}

describe('faults: when a store fails, clean 503s within the timeout, then recovery', function () {
  this.timeout(60_000);
  let postgres: PostgresCluster;
  let redis: StoreProcess;
  /** The worst latency seen in each case, printed at the end for the operations notes. */
  const worst: Record<string, number> = {};

  before(async function () {
    [postgres, redis] = await Promise.all([startPostgresCluster(), startRedisProcess()]);
  });
  after(async function () {
    await Promise.allSettled([postgres?.remove(), redis?.remove()]);
    console.log('      worst latency (ms):', JSON.stringify(worst));
  });

  async function deployment(withRedis: boolean): Promise<Fixture> {
    const url = await postgres.createDatabase();
    const server = await startTestServer(withRedis ? 'postgres+redis' : 'postgres', { ...FAULT_ENV, ...(withRedis ? { AUTH_REDIS_URL: redis.url } : {}) }, {
      database: { env: { AUTH_DATABASE_URL: url }, drop: async () => undefined },
    });
    return prepare(server);
  }

  async function outage(name: string, withRedis: boolean, fail: () => Promise<void> | void, restore: () => Promise<void> | void) {
    const fixture = await deployment(withRedis);
    let restored = false;
    const restoreOnce = async () => {
      if (restored) return;
      restored = true;
      await restore();
    };
    try {
      await fail();
      const answers = [...(await load(fixture)), ...(await load(fixture))];
      worst[name] = Math.round(Math.max(...answers.map(({ ms }) => ms)));
      expectUnavailable(answers);
      await restoreOnce();
      await expectRecovery(fixture);
    } finally {
      await restoreOnce();
      await fixture.server.close();
    }
  }

  it('Redis killed: 503 temporarily_unavailable at once, the sign-in page says to try again, recovery on restart', async function () {
    await outage('redis killed', true, () => redis.stop(), () => redis.start());
  });

  it('Redis frozen (SIGSTOP): every answer within the timeout, 503, recovery on SIGCONT', async function () {
    await outage('redis frozen', true, () => redis.freeze(), () => redis.thaw());
  });

  it('PostgreSQL stopped: 503 on every path that needs it, recovery on restart', async function () {
    await outage('postgres stopped', false, () => postgres.stop(), () => postgres.start());
  });

  it('PostgreSQL frozen (SIGSTOP): every answer within the timeout, 503, recovery on SIGCONT', async function () {
    await outage('postgres frozen', false, () => postgres.freeze(), () => postgres.thaw());
  });
});
