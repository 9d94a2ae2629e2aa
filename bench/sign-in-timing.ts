// Whether a failed sign-in's time tells an existing account from an unknown username: the password form POSTed with a
// wrong password for an account that exists and for a username that does not, alternately, TRIES times each, on
// PostgreSQL alone and on PostgreSQL + Redis, and the median time of each (the POST alone: the sign-in page is opened
// before the clock starts). Run by bench/run.ts (under `signInTiming`), or alone: `npx tsx bench/sign-in-timing.ts`;
// prints one JSON document on stdout.
//
// Environment (all optional): BENCH_TIMING_TRIES (200 of each). PostgreSQL and Redis as the tests find them
// (TEST_POSTGRES_URL, TEST_REDIS_URL).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { loadConfig } from '../config/index.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { startServices } from '../src/services.js';
import { BrowserAgent } from '../test/support/browser-agent.js';
import { REDIS_URL, scratchPostgres } from '../test/support/databases.js';
import { authorizationRequest, REDIRECT_URI } from '../test/support/fixtures.js';

const TRIES = Number(process.env.BENCH_TIMING_TRIES ?? 200);
const USERNAME = 'existing';

const log = (message: string) => process.stderr.write(`[sign-in-timing] ${message}\n`);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2 : (sorted[Math.floor(middle)] as number);
};
const ms = (value: number) => Math.round(value * 1000) / 1000;

/** Median POST times of both kinds of failure on one store set-up. */
async function measure(withRedis: boolean) {
  const database = await scratchPostgres();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    ...database.env,
    ...(withRedis ? { AUTH_REDIS_URL: REDIS_URL } : {}),
    AUTH_SECRET_KEY: 'chillfi3-auth-bench-secret-0123456789abcdef',
    AUTH_ISSUER: issuer,
    LOG_LEVEL: 'warn',
    // Neither the per-address limit nor the lockout is what is measured: each failure must reach the password check.
    LOGIN_RATE_LIMIT: '100000',
    MAX_LOGIN_ATTEMPTS: '1000',
  });
  const logger = createLogger(config.logLevel);
  const services = await startServices(config, logger, { schema: 'migrate' });
  try {
    server.on('request', (await createApp({ services, logger })).callback());
    await services.accounts.create({ username: USERNAME, passwordHash: await services.hasher.hash('the right password') });
    const { instance, clientSecret } = await services.instances.create({
      name: 'Benchmark instance',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code'],
      skipConsent: true,
    });
    const client = await oidc.discovery(new URL(issuer), instance.clientId, clientSecret ?? undefined, undefined, {
      execute: [oidc.allowInsecureRequests],
    });

    /** One wrong-password POST as `username`, timed. */
    async function failedSignIn(username: string): Promise<number> {
      const agent = new BrowserAgent();
      const page = await agent.open((await authorizationRequest(client, 'openid')).url, {}, REDIRECT_URI);
      const started = performance.now();
      const answer = await agent.signIn(page, username, 'a wrong password');
      const elapsed = performance.now() - started;
      if (answer.status !== 200 || !answer.body.includes('Invalid username or password.')) throw new Error(`not refused: ${answer.status}`);
      return elapsed;
    }

    for (let warmup = 0; warmup < 20; warmup++) await failedSignIn(warmup % 2 ? USERNAME : `nobody-${warmup}`);
    const existing: number[] = [];
    const unknown: number[] = [];
    for (let index = 0; index < TRIES; index++) {
      // Alternating, each kind first in turn, so that drift over the run falls on both alike.
      if (index % 2 === 0) {
        existing.push(await failedSignIn(USERNAME));
        unknown.push(await failedSignIn(`nobody-${index}`));
      } else {
        unknown.push(await failedSignIn(`nobody-${index}`));
        existing.push(await failedSignIn(USERNAME));
      }
    }
    await services.audit.flush();
    const result = {
      medianMsWrongPassword: ms(median(existing)),
      medianMsUnknownUsername: ms(median(unknown)),
      medianGapMs: ms(median(existing) - median(unknown)),
    };
    log(`${withRedis ? 'PostgreSQL + Redis' : 'PostgreSQL'}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    server.closeAllConnections();
    server.close();
    await services.close();
    await database.drop();
  }
}

const postgres = await measure(false);
const postgresRedis = await measure(true);
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: 'failed sign-in time, wrong password on an existing account vs. unknown username (medians)',
      setup: { tries: TRIES, request: 'POST of the sign-in form only, the page opened before', argon2: 'the configured default cost' },
      postgres,
      postgresRedis,
    },
    null,
    2,
  )}\n`,
);
