// What the audit trail costs sign-in: full browser sign-ins (authorization request, sign-in page, password form, back
// to the instance with a code) per second against one server on PostgreSQL + Redis, with its audit log as it is and
// with the audit writer swapped for one that writes nothing, in alternating rounds of the same run. Run by
// bench/run.ts (under `signInAudit`), or alone: `npx tsx bench/sign-in-audit.ts`; prints one JSON document on stdout.
//
// Environment (all optional): BENCH_SIGNIN_CONCURRENCY (8 sign-ins at once), BENCH_SIGNIN_ROUNDS (4 of each),
// BENCH_SIGNIN_ROUND_SECONDS (5). PostgreSQL and Redis as the tests find them (TEST_POSTGRES_URL, TEST_REDIS_URL).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/index.js';
import { createApp } from '../src/app.js';
import { AuditLog, type AuditEntry } from '../src/audit/audit-log.js';
import { createLogger } from '../src/logger.js';
import { startServices } from '../src/services.js';
import { BrowserAgent } from '../test/support/browser-agent.js';
import { REDIS_URL, scratchPostgres } from '../test/support/databases.js';
import { authorizationRequest, REDIRECT_URI } from '../test/support/fixtures.js';
import * as oidc from 'openid-client';

const CONCURRENCY = Number(process.env.BENCH_SIGNIN_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_SIGNIN_ROUNDS ?? 4);
const ROUND_SECONDS = Number(process.env.BENCH_SIGNIN_ROUND_SECONDS ?? 5);
const PASSWORD = 'correct horse battery staple';

const log = (message: string) => process.stderr.write(`[sign-in-audit] ${message}\n`);

/** The audit writer stubbed out, in this benchmark only: the baseline that writes nothing. */
class DiscardingAuditLog extends AuditLog {
  override record(_entry: AuditEntry): Promise<void> {
    return Promise.resolve();
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const database = await scratchPostgres();
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const config = loadConfig({
  ...database.env,
  AUTH_REDIS_URL: REDIS_URL,
  AUTH_SECRET_KEY: 'chillfi3-auth-bench-secret-0123456789abcdef',
  AUTH_ISSUER: issuer,
  LOG_LEVEL: 'warn',
  // Every sign-in comes from 127.0.0.1: the per-address limit is not what is measured.
  LOGIN_RATE_LIMIT: '100000',
});
const logger = createLogger(config.logLevel);
const services = await startServices(config, logger, { schema: 'migrate' });
try {
  const audited = (await createApp({ services, logger })).callback();
  // The provider's own events still go to the real log: none of them is written on the sign-in path measured here.
  const stubbed = (await createApp({ services: { ...services, audit: new DiscardingAuditLog(services.dataSource) }, logger })).callback();
  let current: Handler = audited;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => current(req, res));

  // One account per concurrent browser: attempts on one account in flight at once count towards its lockout.
  const passwordHash = await services.hasher.hash(PASSWORD);
  for (let worker = 0; worker < CONCURRENCY; worker++) await services.accounts.create({ username: `bench${worker}`, passwordHash });
  const { instance, clientSecret } = await services.instances.create({
    name: 'Benchmark instance',
    redirectUris: [REDIRECT_URI],
    grantTypes: ['authorization_code', 'refresh_token'],
    skipConsent: true,
  });
  const client = await oidc.discovery(new URL(issuer), instance.clientId, clientSecret ?? undefined, undefined, {
    execute: [oidc.allowInsecureRequests],
  });

  /** One browser's whole sign-in, to the redirect back to the instance with a code. */
  async function signIn(username: string): Promise<void> {
    const agent = new BrowserAgent();
    const { url } = await authorizationRequest(client, 'openid profile');
    const page = await agent.signIn(await agent.open(url, {}, REDIRECT_URI), username, PASSWORD, REDIRECT_URI);
    if (page.status !== 0 || !new URL(page.url).searchParams.has('code')) throw new Error(`sign-in failed: ${page.status} ${page.url}`);
  }

  /** Sign-ins per second with `handler` serving, CONCURRENCY at a time for ROUND_SECONDS. */
  async function round(handler: Handler): Promise<number> {
    current = handler;
    const deadline = Date.now() + ROUND_SECONDS * 1000;
    const started = performance.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        while (Date.now() < deadline) {
          await signIn(`bench${worker}`);
          done++;
        }
      }),
    );
    return done / ((performance.now() - started) / 1000);
  }

  log('warming up');
  await round(audited);
  const withAudit: number[] = [];
  const withoutAudit: number[] = [];
  for (let index = 0; index < ROUNDS; index++) {
    // Alternating, first one then the other first, so that drift over the run (Redis and the tables filling up, the
    // process warming) falls on both alike.
    if (index % 2 === 0) {
      withAudit.push(await round(audited));
      withoutAudit.push(await round(stubbed));
    } else {
      withoutAudit.push(await round(stubbed));
      withAudit.push(await round(audited));
    }
    log(`round ${index + 1}: ${withAudit.at(-1)?.toFixed(1)} sign-ins/s audited, ${withoutAudit.at(-1)?.toFixed(1)} stubbed`);
  }
  await services.audit.flush();
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const round1 = (value: number) => Math.round(value * 10) / 10;
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'sign-in throughput, audit trail written vs. audit writer stubbed out',
        setup: {
          concurrency: CONCURRENCY,
          rounds: ROUNDS,
          roundSeconds: ROUND_SECONDS,
          signIn: 'GET /auth, the sign-in page, POST the password form, the redirect back with a code (5 requests)',
          stores: 'PostgreSQL + Redis, in-process server, argon2id at the configured default cost',
          argon2: config.argon2,
        },
        signInsPerSecondAudited: round1(mean(withAudit)),
        signInsPerSecondStubbed: round1(mean(withoutAudit)),
        ratioAuditedToStubbed: Math.round((mean(withAudit) / mean(withoutAudit)) * 1000) / 1000,
        rounds: { audited: withAudit.map(round1), stubbed: withoutAudit.map(round1) },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  server.closeAllConnections();
  server.close();
  await services.close();
  await database.drop();
}
