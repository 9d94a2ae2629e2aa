// Micro benchmark of the instance SDK against a real in-process auth server (SQLite):
//   verifyAccessToken vs plain jose.jwtVerify on the same token in the same run (the SDK's overhead),
//   validateToken with a cached introspection vs a live one. Prints JSON.
// Run: npx tsx bench/sdk-verify.ts [seconds per case, default 2]
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createAuthClient } from '../src/sdk/index.js';
import { startTestServer } from '../test/support/test-server.js';
import { addAccount, addInstance, codeFlow } from '../test/support/fixtures.js';

const seconds = Number(process.argv[2] ?? 2);

async function measure(name: string, run: () => Promise<unknown>, durationMs = seconds * 1000) {
  for (let i = 0; i < 200; i++) await run(); // warm-up
  let operations = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(durationMs) * 1_000_000n;
  while (process.hrtime.bigint() < deadline) {
    await run();
    operations++;
  }
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, operations, seconds: Number(elapsedSeconds.toFixed(3)), perSecond: Math.round(operations / elapsedSeconds) };
}

const server = await startTestServer('sqlite');
try {
  await addAccount(server, 'bench');
  const { instance, clientSecret, client } = await addInstance(server, { backchannelLogoutUri: 'http://127.0.0.1:9/auth/backchannel-logout' });
  const token = (await codeFlow(client, { username: 'bench' })).tokens.access_token;
  const auth = createAuthClient({ serverUrl: server.issuer, clientId: instance.clientId, clientSecret, logger: null });
  await auth.validateToken(token);

  const jwks = createLocalJWKSet((await (await fetch(`${server.issuer}/jwks`)).json()) as JSONWebKeySet);
  const plainOptions = { issuer: server.issuer, audience: instance.clientId, typ: 'at+jwt', algorithms: ['ES256'], clockTolerance: 5 };

  // Interleaved rounds, so that machine drift hits both sides of each comparison alike.
  const cases: [string, () => Promise<unknown>][] = [
    ['jose.jwtVerify', () => jwtVerify(token, jwks, plainOptions)],
    ['sdk.verifyAccessToken', () => auth.verifyAccessToken(token)],
    ["sdk.validateToken policy 'introspect-cached'", () => auth.validateToken(token, { policy: 'introspect-cached' })],
    ["sdk.validateToken policy 'introspect'", () => auth.validateToken(token, { policy: 'introspect' })],
  ];
  const rounds = 5;
  const totals = new Map<string, { operations: number; seconds: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of cases) {
      const result = await measure(name, run, (seconds * 1000) / rounds);
      const total = totals.get(name) ?? { operations: 0, seconds: 0 };
      totals.set(name, { operations: total.operations + result.operations, seconds: total.seconds + result.seconds });
    }
  }
  const results = [...totals].map(([name, total]) => ({ name, ...total, perSecond: Math.round(total.operations / total.seconds) }));
  const rate = (name: string) => results.find((result) => result.name === name)!.perSecond;
  console.log(
    JSON.stringify(
      {
        node: process.version,
        secondsPerCase: seconds,
        rounds,
        results,
        ratios: {
          verifyAccessTokenVsJwtVerify: Number((rate('sdk.verifyAccessToken') / rate('jose.jwtVerify')).toFixed(3)),
          cachedVsLiveValidateToken: Number((rate(cases[2]![0]) / rate(cases[3]![0])).toFixed(1)),
        },
      },
      null,
      2,
    ),
  );
  auth.close();
} finally {
  await server.close();
}
