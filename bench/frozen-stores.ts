// How long requests wait on a frozen store (`npx tsx bench/frozen-stores.ts`): the real server on a PostgreSQL cluster
// and a redis-server of its own, at the production default timeouts (AUTH_DB_TIMEOUT_MS 2000, AUTH_REDIS_TIMEOUT_MS
// 1000). With Redis (then PostgreSQL) frozen by SIGSTOP, PER_KIND requests of each kind at once (default 4; 8 is more
// than the 20 connections of the PostgreSQL pool: requests wait for a connection, then for their statement) (sign-in page
// from the authorization request, a sign-in page opened before and reloaded, client_credentials, introspection,
// discovery, the admin API), twice; the slowest answer of each kind, in ms, and its
// status. Prints one JSON document on stdout.
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../src/instances/instance-store.js';
import { BrowserAgent } from '../test/support/browser-agent.js';
import { addAccount, addInstance, authorizationRequest, basicAuth, codeFlow, openLoginPage, REDIRECT_URI } from '../test/support/fixtures.js';
import { startPostgresCluster, startRedisProcess, type StoreProcess } from '../test/support/store-processes.js';
import { startTestServer, type TestServer } from '../test/support/test-server.js';

const PER_KIND = Number(process.env.PER_KIND ?? 4);
const KINDS = ['sign-in page', 'sign-in page reload', 'client_credentials', 'introspection', 'discovery', 'admin API'] as const;
type Kind = (typeof KINDS)[number];

async function measure(server: TestServer, frozen: StoreProcess): Promise<Record<Kind, { ms: number; status: number }>> {
  const { instance, clientSecret, client } = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
  await addAccount(server, 'root', { isAdmin: true });
  const adminToken = (await codeFlow(client, { username: 'root', scope: `openid profile ${ADMIN_SCOPE}` })).tokens.access_token;
  const token = (form: Record<string, string>, path = '/token') =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: basicAuth(instance.clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form),
    });
  const accessToken = ((await (await token({ grant_type: 'client_credentials' })).json()) as { access_token: string }).access_token;
  // Sign-in pages opened before the freeze, each reloaded once during it (as a user who comes back to the tab).
  const loginPages = await Promise.all(Array.from({ length: 2 * PER_KIND }, () => openLoginPage(client)));
  const one = async (kind: Kind): Promise<{ kind: Kind; ms: number; status: number }> => {
    const started = performance.now();
    let status: number;
    if (kind === 'sign-in page') status = (await new BrowserAgent().open((await authorizationRequest(client)).url, {}, REDIRECT_URI)).status;
    else if (kind === 'sign-in page reload') {
      const { page, agent } = loginPages.pop() as (typeof loginPages)[number];
      status = (await agent.open(page.url)).status;
    } else if (kind === 'client_credentials') status = (await token({ grant_type: 'client_credentials' })).status;
    else if (kind === 'introspection') status = (await token({ token: accessToken }, '/token/introspection')).status;
    else if (kind === 'discovery') status = (await fetch(`${server.url}/.well-known/openid-configuration`)).status;
    else status = (await fetch(`${server.url}/admin/users`, { headers: { authorization: `Bearer ${adminToken}` } })).status;
    return { kind, ms: Math.round(performance.now() - started), status };
  };
  frozen.freeze();
  try {
    const answers = [];
    for (const _round of [0, 1]) answers.push(...(await Promise.all(KINDS.flatMap((kind) => Array.from({ length: PER_KIND }, () => one(kind))))));
    const slowest = {} as Record<Kind, { ms: number; status: number }>;
    for (const { kind, ms, status } of answers) if (!slowest[kind] || ms > slowest[kind].ms) slowest[kind] = { ms, status };
    return slowest;
  } finally {
    frozen.thaw();
  }
}

const [postgres, redis] = await Promise.all([startPostgresCluster(), startRedisProcess()]);
const results: Record<string, unknown> = {};
try {
  for (const [name, frozen, withRedis] of [['redis frozen', redis, true], ['postgres frozen', postgres, false]] as const) {
    const url = await postgres.createDatabase();
    const env = { AUTH_DB_TIMEOUT_MS: '2000', AUTH_REDIS_TIMEOUT_MS: '1000', LOG_LEVEL: 'silent', ...(withRedis ? { AUTH_REDIS_URL: redis.url } : {}) };
    const server = await startTestServer(withRedis ? 'postgres+redis' : 'postgres', env, { database: { env: { AUTH_DATABASE_URL: url }, drop: async () => undefined } });
    try {
      results[name] = await measure(server, frozen);
    } finally {
      await server.close();
    }
  }
} finally {
  await Promise.allSettled([postgres.remove(), redis.remove()]);
}
console.log(JSON.stringify(results, null, 2));
