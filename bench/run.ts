// Load benchmark (`npm run bench`): the auth server as it runs in production (PostgreSQL + Redis, its own process)
// against a Koa hello-world baseline, measured with autocannon over loopback. Prints one JSON document on stdout;
// progress goes to stderr.
//
// Targets: (a) hello-world GET, (b) discovery GET, (c) client_credentials at the token endpoint (client_secret_basic),
// (d) introspection of a client_credentials JWT access token; the same two operations on a bare oidc-provider
// (bench/bare-provider.ts: in memory, static clients, ES256 JWTs; its introspection takes only its opaque tokens);
// then (c) again on AUTH_WORKERS=2. Each server runs in a process of its own; the CPU it spent per request is read from
// /proc. `comparisons` gives each operation as a ratio to the bare provider and to hello-world. Then, with the servers
// stopped, the instance SDK's micro benchmark (bench/sdk-verify.ts, under `sdk`), what the audit trail costs sign-in
// (bench/sign-in-audit.ts, under `signInAudit`), and sign-in throughput as a ratio to raw argon2id verifications at
// the same cost and concurrency (bench/argon2-verify.ts, under `signIn`).
//
// Environment (all optional): BENCH_POSTGRES_URL (default TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test,
// used to create and drop a scratch database), BENCH_REDIS_URL (default TEST_REDIS_URL or redis://127.0.0.1:6379),
// BENCH_CONNECTIONS (10), BENCH_DURATION (10 seconds per target), BENCH_WARMUP (2 seconds per target).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  /** The process serving it, whose CPU time is read before and after. */
  server: ChildProcess;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) one process has used so far, from /proc/<pid>/stat. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds of a server process and of its own children (the workers of AUTH_WORKERS > 1). */
function cpuSeconds(child: ChildProcess): number {
  const pid = child.pid as number;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  return [pid, ...children].reduce((sum, each) => sum + processCpuSeconds(each), 0);
}

interface Measured {
  name: string;
  method: string;
  url: string;
  requestsPerSecond: number;
  /** Server CPU per request: the serving process's CPU time over the measured run, divided by its requests. */
  serverCpuMicrosPerRequest: number;
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
  const cpuBefore = cpuSeconds(target.server);
  const result: Result = await autocannon({ ...target.options, connections: CONNECTIONS, duration: DURATION });
  const cpuUsed = cpuSeconds(target.server) - cpuBefore;
  const requests = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const failed = result.non2xx + result.errors + result.timeouts;
  const measured = {
    name: target.name,
    method: target.options.method ?? 'GET',
    url: target.options.url,
    requestsPerSecond: Math.round(result.requests.average * 10) / 10,
    serverCpuMicrosPerRequest: requests === 0 ? NaN : Math.round((cpuUsed * 1e6) / requests),
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
    // The shared Redis keeps the tests' per-address counters for 127.0.0.1: the benchmark measures the happy path.
    CLIENT_AUTH_FAILURES_PER_IP: '100000',
    CLIENT_AUTH_FAILURES_PER_CLIENT: '100000',
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

  const barePort = await freePort();
  const bare = `http://127.0.0.1:${barePort}`;
  const bareSecret = randomBytes(24).toString('base64url');
  log(`starting the auth server on ${issuer}, the Koa hello-world on 127.0.0.1:${helloPort}, the bare provider on ${bare}`);
  const auth = startChild('auth', 'src/main.ts', serverEnv);
  const hello = startChild('hello', 'bench/hello-server.ts', { PORT: String(helloPort) });
  const bareProvider = startChild('bare', 'bench/bare-provider.ts', { PORT: String(barePort), BARE_SECRET: bareSecret });
  await Promise.all([
    waitFor(`${issuer}/healthz`, auth),
    waitFor(`http://127.0.0.1:${helloPort}/`, hello),
    waitFor(`${bare}/.well-known/openid-configuration`, bareProvider),
  ]);

  const basicFor = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicFor(clientId, clientSecret) };
  const bareJwtForm = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicFor('bare-jwt', bareSecret) };
  const bareOpaqueForm = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicFor('bare-opaque', bareSecret) };

  /** A client_credentials access token from `server`, checked to be a JWT (or an opaque token) and active. */
  async function serviceToken(server: string, headers: Record<string, string>, kind: 'jwt' | 'opaque'): Promise<string> {
    const response = await fetch(`${server}/token`, { method: 'POST', headers, body: 'grant_type=client_credentials' });
    const body = (await response.json()) as { access_token?: string };
    if (response.status !== 200 || !body.access_token) throw new Error(`client_credentials at ${server} failed: ${response.status} ${JSON.stringify(body)}`);
    if ((body.access_token.split('.').length === 3) !== (kind === 'jwt')) throw new Error(`${server} did not issue a ${kind} access token`);
    return body.access_token;
  }
  async function checkActive(server: string, headers: Record<string, string>, token: string): Promise<string> {
    const introspection = new URLSearchParams({ token }).toString();
    const response = await fetch(`${server}/token/introspection`, { method: 'POST', headers, body: introspection });
    const body = (await response.json()) as { active?: boolean };
    if (response.status !== 200 || body.active !== true) throw new Error(`introspection at ${server} failed: ${response.status} ${JSON.stringify(body)}`);
    return introspection;
  }
  await serviceToken(bare, bareJwtForm, 'jwt');
  const introspectionBody = await checkActive(issuer, form, await serviceToken(issuer, form, 'jwt'));
  const bareIntrospectionBody = await checkActive(bare, bareOpaqueForm, await serviceToken(bare, bareOpaqueForm, 'opaque'));

  const clientCredentials = 'grant_type=client_credentials';
  const targets: Target[] = [
    { name: 'koa-hello-world', server: hello, options: { url: `http://127.0.0.1:${helloPort}/` } },
    { name: 'discovery', server: auth, options: { url: `${issuer}/.well-known/openid-configuration` } },
    { name: 'token-client-credentials', server: auth, options: { url: `${issuer}/token`, method: 'POST', headers: form, body: clientCredentials } },
    { name: 'introspection-jwt', server: auth, options: { url: `${issuer}/token/introspection`, method: 'POST', headers: form, body: introspectionBody } },
    { name: 'bare-token-client-credentials', server: bareProvider, options: { url: `${bare}/token`, method: 'POST', headers: bareJwtForm, body: clientCredentials } },
    { name: 'bare-introspection-opaque', server: bareProvider, options: { url: `${bare}/token/introspection`, method: 'POST', headers: bareOpaqueForm, body: bareIntrospectionBody } },
  ];
  const results: Omit<Measured, 'ratioToHelloWorld'>[] = [];
  for (const target of targets) results.push(await measure(target));
  await stopChildren();

  const workersPort = await freePort();
  const workersIssuer = `http://127.0.0.1:${workersPort}`;
  log(`starting the auth server with AUTH_WORKERS=2 on ${workersIssuer}`);
  stopping = false;
  const workers = startChild('auth-2-workers', 'src/main.ts', { ...serverEnv, AUTH_PORT: String(workersPort), AUTH_ISSUER: workersIssuer, AUTH_WORKERS: '2' });
  await waitFor(`${workersIssuer}/healthz`, workers);
  results.push(
    await measure({ name: 'token-client-credentials-2-workers', server: workers, options: { url: `${workersIssuer}/token`, method: 'POST', headers: form, body: clientCredentials } }),
  );
  await stopChildren();

  const rate = (name: string) => results.find((result) => result.name === name)?.requestsPerSecond ?? NaN;
  const ratio = (numerator: number, denominator: number) => Math.round((numerator / denominator) * 1000) / 1000;
  const baseline = rate('koa-hello-world');
  const comparisons = {
    clientCredentialsToBareProvider: ratio(rate('token-client-credentials'), rate('bare-token-client-credentials')),
    introspectionJwtToBareOpaqueIntrospection: ratio(rate('introspection-jwt'), rate('bare-introspection-opaque')),
    discoveryToHelloWorld: ratio(rate('discovery'), baseline),
    clientCredentialsTwoWorkersToOne: ratio(rate('token-client-credentials-2-workers'), rate('token-client-credentials')),
  };

  log('instance SDK micro benchmark (bench/sdk-verify.ts)');
  const sdk = await runBenchmarkScript('bench/sdk-verify.ts');
  log('sign-in with and without audit writes (bench/sign-in-audit.ts)');
  const signInAudit = (await runBenchmarkScript('bench/sign-in-audit.ts')) as { signInsPerSecondAudited: number };
  log('raw argon2id verifications at the same cost and concurrency (bench/argon2-verify.ts)');
  const argon2Verify = (await runBenchmarkScript('bench/argon2-verify.ts')) as { verifiesPerSecond: number };

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
      server: 'src/main.ts in its own process (tsx), PostgreSQL + Redis, one worker (then two), LOG_LEVEL=warn',
      baseline: 'Koa hello-world in its own process (bench/hello-server.ts)',
      bareProvider: 'oidc-provider with its in-memory adapter and static clients, ES256 JWTs (bench/bare-provider.ts)',
      serverCpu: 'user + system CPU of the serving process (and its workers) over the measured run, from /proc',
      note: 'autocannon runs in the benchmark process on the same machine as both servers',
    },
    targets: results.map((result) => ({
      ...result,
      ratioToHelloWorld: Math.round((result.requestsPerSecond / baseline) * 1000) / 1000,
    })),
    comparisons,
    sdk,
    signInAudit,
    signIn: {
      signInsPerSecond: signInAudit.signInsPerSecondAudited,
      argon2VerifiesPerSecond: argon2Verify.verifiesPerSecond,
      ratioToArgon2: ratio(signInAudit.signInsPerSecondAudited, argon2Verify.verifiesPerSecond),
      argon2Verify,
    },
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
