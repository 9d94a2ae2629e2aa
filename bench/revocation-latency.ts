// How soon a connected instance refuses a revoked token (the revocation stream, GET /revocations): 50 instances, each
// an SDK client with revocationStream on and its introspection answers cached (AUTH_CACHE_TTL 300 s, so that nothing
// but the stream could make it refuse), on one node. For each of N revocations: a user's token is checked (and cached)
// by one instance, the instance revokes the grant at the server (its refresh token at /token/revocation), and the time
// from the start of that request until the instance's validateToken refuses the token is measured. Prints JSON.
// Run: npx tsx bench/revocation-latency.ts [revocations, default 1000] [instances, default 50] [sqlite|postgres+redis]
import * as oidc from 'openid-client';
import { createAuthClient, type AuthClient } from '../src/sdk/index.js';
import { BrowserAgent } from '../test/support/browser-agent.js';
import { addAccount, addInstance, codeFlow } from '../test/support/fixtures.js';
import { startTestServer, type Backend } from '../test/support/test-server.js';

const revocations = Number(process.argv[2] ?? 1000);
const instanceCount = Number(process.argv[3] ?? 50);
const backend = (process.argv[4] ?? 'sqlite') as Backend;
/** A revocation not heard of by then counts as missed. */
const GIVE_UP_MS = 10_000;

const log = (message: string) => process.stderr.write(`[revocation-latency] ${message}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

const server = await startTestServer(backend);
const clients: AuthClient[] = [];
try {
  const account = await addAccount(server, 'bench');
  const instances = [];
  for (let i = 0; i < instanceCount; i++) {
    const made = await addInstance(server);
    const auth = createAuthClient({
      serverUrl: server.issuer,
      clientId: made.instance.clientId,
      clientSecret: made.clientSecret,
      revocationStream: true,
      cacheTtlSeconds: 300,
      logger: null,
    });
    clients.push(auth);
    instances.push({ ...made, auth, agent: new BrowserAgent() });
  }
  await Promise.all(clients.map((auth) => (auth.revocations?.connected ? undefined : new Promise((resolve) => auth.once('revocations-connected', resolve)))));
  log(`${instanceCount} instances connected to the stream (${backend}); ${revocations} revocations`);

  const latencies: number[] = [];
  const requestTimes: number[] = [];
  let missed = 0;
  for (let n = 0; n < revocations; n++) {
    const { client, auth, agent } = instances[n % instanceCount]!;
    // The same browser per instance: signed in once, each later flow is a new grant without the password.
    const { tokens } = await codeFlow(client, { agent, username: account.username, scope: 'openid offline_access' });
    await auth.validateToken(tokens.access_token);
    const started = performance.now();
    await oidc.tokenRevocation(client, tokens.refresh_token!);
    requestTimes.push(performance.now() - started);
    for (;;) {
      const refused = await auth.validateToken(tokens.access_token).then(
        () => false,
        () => true,
      );
      const elapsed = performance.now() - started;
      if (refused) {
        latencies.push(elapsed);
        break;
      }
      if (elapsed > GIVE_UP_MS) {
        missed++;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if ((n + 1) % 100 === 0) log(`${n + 1} done`);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const sortedRequests = [...requestTimes].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'revoke at the server → a connected instance refuses the token (revocation stream)',
        date: new Date().toISOString(),
        setup: {
          backend,
          nodes: 1,
          connectedInstances: instanceCount,
          revocations,
          revocation: 'the instance revokes the refresh token (its grant) at /token/revocation; the access token was checked and cached before',
          measured: 'from the start of the revocation request until validateToken refuses the access token (checked every millisecond)',
          sdk: 'revocationStream on, policy introspect-cached, AUTH_CACHE_TTL 300 s, memory store',
        },
        refusedAfterMs: { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) },
        revocationRequestMs: { p50: round(percentile(sortedRequests, 50)), p99: round(percentile(sortedRequests, 99)) },
        missedWithin10s: missed,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  for (const auth of clients) auth.close();
  await server.close();
}
