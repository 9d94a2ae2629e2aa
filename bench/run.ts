// Load benchmark (`npm run bench`): the auth server as it runs in production (PostgreSQL + Redis, its own process)
// against a Koa hello-world baseline, measured with autocannon over loopback. Prints one JSON document on stdout;
// progress goes to stderr.
//
// Targets: (a) hello-world GET, (b) discovery GET, (c) client_credentials at the token endpoint (client_secret_basic),
// (d) introspection of a client_credentials JWT access token. Then, with the servers stopped, the instance SDK's
// micro benchmark (bench/sdk-verify.ts), included under `sdk`, and what the audit trail costs sign-in
// (bench/sign-in-audit.ts), under `signInAudit`.
//
// Environment (all optional): BENCH_POSTGRES_URL (default TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test,
// used to create and drop a scratch database), BENCH_REDIS_URL (default TEST_REDIS_URL or redis://127.0.0.1:6379),
// BENCH_CONNECTIONS (10), BENCH_DURATION (10 seconds per target), BENCH_WARMUP (2 seconds per target).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Options, type Result } from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../config/index.js';
import { openStores } from '../src/stores.js';
import { freePort } from '../test/support/free-port.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
/** A target whose responses are mostly not 2xx measures an error path, not the endpoint: the run fails. */
const MAX_ERROR_RATIO = 0.5;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

/** Starts `node --import tsx <script>` in the repository root, its output passed through to stderr. */
function startChild(name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const prefix = (chunk: Buffer) => process.stderr.write(chunk.toString().replace(/^(?=.)/gm, `[${name}] `));
  child.stdout?.on('data', prefix);
  child.stderr?.on('data', prefix);
  child.once('exit', (code, signal) => {
    if (!stopping) log(`${name} exited early (code ${code}, signal ${signal})`);
  });
  return child;
}

/** Polls a URL until it answers 200, or fails after `seconds`. */
async function waitFor(url: string, child: ChildProcess, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer 200 within ${seconds}s`);
}

let stopping = false;
/** Stops the servers, so that nothing else loads the machine during what follows. */
async function stopChildren(): Promise<void> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

async function cleanup(): Promise<void> {
  await stopChildren();
  for (const step of cleanups.reverse()) {
    try {
      await step();
    } catch (error) {
      log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** A benchmark script in its own process (its progress to stderr): the JSON document it prints. */
async function runBenchmarkScript(script: string): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`${script} exited with code ${code}`);
  return JSON.parse(output);
}

/** A fresh PostgreSQL database, dropped at cleanup. */
async function scratchDatabase(): Promise<string> {
  const name = `chillfi3_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
    log(`dropped database ${name}`);
  });
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Target {
  name: string;
  options: Options;
}

interface Measured {
  name: string;
  method: string;
  url: string;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  ratioToHelloWorld: number;
}

async function measure(target: Target): Promise<Omit<Measured, 'ratioToHelloWorld'>> {
  log(`${target.name}: warming up ${WARMUP}s`);
  await autocannon({ ...target.options, connections: CONNECTIONS, duration: WARMUP });
  log(`${target.name}: measuring ${DURATION}s with ${CONNECTIONS} connections`);
  const result: Result = await autocannon({ ...target.options, connections: CONNECTIONS, duration: DURATION });
  const requests = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const failed = result.non2xx + result.errors + result.timeouts;
  const measured = {
    name: target.name,
    method: target.options.method ?? 'GET',
    url: target.options.url,
    requestsPerSecond: Math.round(result.requests.average * 10) / 10,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    requests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
  log(`${target.name}: ${measured.requestsPerSecond} req/s, p50 ${measured.latencyP50Ms} ms, p99 ${measured.latencyP99Ms} ms, ` +
    `${result['2xx']} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  if (requests + result.errors + result.timeouts === 0 || failed / (requests + result.errors + result.timeouts) > MAX_ERROR_RATIO) {
    throw new Error(`${target.name}: ${failed} of ${requests + result.errors + result.timeouts} requests failed ` +
      `(${result['4xx']} 4xx, ${result['5xx']} 5xx, ${result.errors} errors, ${result.timeouts} timeouts): not a valid measurement`);
  }
  return measured;
}

async function main(): Promise<void> {
  const started = new Date();
  const databaseUrl = await scratchDatabase();
  const secretKey = randomBytes(48).toString('base64');
  const [authPort, helloPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${authPort}`;
  const serverEnv = {
    AUTH_DATABASE_URL: databaseUrl,
    AUTH_REDIS_URL: REDIS_URL,
    AUTH_SECRET_KEY: secretKey,
    AUTH_PORT: String(authPort),
    AUTH_HOST: '127.0.0.1',
    AUTH_ISSUER: issuer,
    LOG_LEVEL: 'warn',
  };

  // The server does not migrate PostgreSQL itself: migrate, and register the benchmark's instance, first.
  log('migrating the scratch database and registering an instance');
  const stores = await openStores(loadConfig({ ...serverEnv }), { schema: 'migrate' });
  let clientId: string;
  let clientSecret: string;
  try {
    const created = await stores.instances.create({
      name: 'Benchmark instance',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    clientId = created.instance.clientId;
    clientSecret = created.clientSecret as string;
  } finally {
    await stores.close();
  }

  log(`starting the auth server on ${issuer} and the Koa hello-world on 127.0.0.1:${helloPort}`);
  const auth = startChild('auth', 'src/main.ts', serverEnv);
  const hello = startChild('hello', 'bench/hello-server.ts', { PORT: String(helloPort) });
  await Promise.all([waitFor(`${issuer}/healthz`, auth), waitFor(`http://127.0.0.1:${helloPort}/`, hello)]);

  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
  const tokenResponse = await fetch(`${issuer}/token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials' });
  const tokenBody = (await tokenResponse.json()) as { access_token?: string; token_type?: string };
  if (tokenResponse.status !== 200 || !tokenBody.access_token) {
    throw new Error(`client_credentials failed: ${tokenResponse.status} ${JSON.stringify(tokenBody)}`);
  }
  const accessToken = tokenBody.access_token;
  if (accessToken.split('.').length !== 3) throw new Error('the client_credentials access token is not a JWT');
  const introspectionBody = new URLSearchParams({ token: accessToken }).toString();
  const check = await fetch(`${issuer}/token/introspection`, { method: 'POST', headers: form, body: introspectionBody });
  const checked = (await check.json()) as { active?: boolean };
  if (check.status !== 200 || checked.active !== true) {
    throw new Error(`introspection of the JWT access token failed: ${check.status} ${JSON.stringify(checked)}`);
  }

  const targets: Target[] = [
    { name: 'koa-hello-world', options: { url: `http://127.0.0.1:${helloPort}/` } },
    { name: 'discovery', options: { url: `${issuer}/.well-known/openid-configuration` } },
    {
      name: 'token-client-credentials',
      options: { url: `${issuer}/token`, method: 'POST', headers: form, body: 'grant_type=client_credentials' },
    },
    {
      name: 'introspection-jwt',
      options: { url: `${issuer}/token/introspection`, method: 'POST', headers: form, body: introspectionBody },
    },
  ];
  const results: Omit<Measured, 'ratioToHelloWorld'>[] = [];
  for (const target of targets) results.push(await measure(target));
  const baseline = results[0]?.requestsPerSecond ?? NaN;
  await stopChildren();

  log('instance SDK micro benchmark (bench/sdk-verify.ts)');
  const sdk = await runBenchmarkScript('bench/sdk-verify.ts');
  log('sign-in with and without audit writes (bench/sign-in-audit.ts)');
  const signInAudit = await runBenchmarkScript('bench/sign-in-audit.ts');

  const report = {
    benchmark: 'chillfi3-auth load (autocannon, loopback)',
    date: started.toISOString(),
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    },
    setup: {
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      warmupSeconds: WARMUP,
      server: 'src/main.ts in its own process (tsx), PostgreSQL + Redis, one worker, LOG_LEVEL=warn',
      baseline: 'Koa hello-world in its own process (bench/hello-server.ts)',
      note: 'autocannon runs in the benchmark process on the same machine as both servers',
    },
    targets: results.map((result) => ({
      ...result,
      ratioToHelloWorld: Math.round((result.requestsPerSecond / baseline) * 1000) / 1000,
    })),
    sdk,
    signInAudit,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

let exitCode = 0;
const onSignal = (signal: NodeJS.Signals) => {
  log(`${signal}: stopping`);
  cleanup().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

try {
  await main();
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
