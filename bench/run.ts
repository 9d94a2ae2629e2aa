// Load benchmark (`npm run bench`): the auth server as it runs in production (PostgreSQL + Redis, its own process)
// against a Koa hello-world baseline, measured with autocannon over loopback. Prints one JSON document on stdout;
// progress goes to stderr.
//
// Targets: (a) hello-world GET, (b) discovery GET, (c) JWKS GET, (d) client_credentials at the token endpoint
// (client_secret_basic), (e) introspection of a client_credentials JWT access token; the same two operations on a bare
// oidc-provider
// (bench/bare-provider.ts: in memory, static clients, ES256 JWTs; its introspection takes only its opaque tokens);
// then (c) again on AUTH_WORKERS=2. Each server runs in a process of its own; the CPU it spent per request is read from
// /proc. `comparisons` gives each operation as a ratio to the bare provider and to hello-world. Then, with the servers
// stopped, the instance SDK's micro benchmark (bench/sdk-verify.ts, under `sdk`), how soon a revoked token is refused
// by instances on the revocation stream (bench/revocation-latency.ts, under `revocations`), what the audit trail costs sign-in
// (bench/sign-in-audit.ts, under `signInAudit`), what an authenticator-app code adds to a sign-in (bench/totp-verify.ts,
// under `totpVerify`, as a ratio to one argon2id verification), what a passkey check costs (bench/passkey-verify.ts,
// under `passkeyVerify`, the same way, on SQLite and on PostgreSQL + Redis) and whether a failed sign-in's time tells an existing account from an
// unknown username (bench/sign-in-timing.ts, under `signInTiming`). Last, sign-in throughput as a ratio to raw
// argon2id verifications (under `signIn`), compared on equal terms: the server and the raw verifications (bench/argon2-verify.ts) each in a
// process of its own pinned to the same core, with the same argon2 cost, thread pool size (UV_THREADPOOL_SIZE) and
// concurrency, and the browsers (bench/sign-in.ts) on the other core, in alternating rounds.
//
// Environment (all optional): BENCH_POSTGRES_URL (default TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test,
// used to create and drop a scratch database), BENCH_REDIS_URL (default TEST_REDIS_URL or redis://127.0.0.1:6379),
// BENCH_CONNECTIONS (50), BENCH_DURATION (10 seconds per target), BENCH_WARMUP (2 seconds per target),
// BENCH_ROUNDS (3 alternating rounds of hello-world, discovery and JWKS, and of sign-in and raw argon2id),
// BENCH_SIGNIN_CONCURRENCY (8 sign-ins at once), UV_THREADPOOL_SIZE (4).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Options, type Result } from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../config/index.js';
import { openStores } from '../src/stores.js';
import { REDIRECT_URI } from '../test/support/fixtures.js';
import { freePort } from '../test/support/free-port.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
/** Alternating rounds of hello-world, discovery and JWKS (and of sign-in and raw argon2id). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIGN_IN_CONCURRENCY = Number(process.env.BENCH_SIGNIN_CONCURRENCY ?? 8);
/** libuv's thread pool, where argon2 runs: the same size for the sign-in server and for the raw verifications. */
const THREAD_POOL_SIZE = process.env.UV_THREADPOOL_SIZE ?? '4';
const SIGN_IN_PASSWORD = 'correct horse battery staple';
/** Where the sign-in comparison runs (see the top): the server and raw argon2 on one core, the browsers on the other. */
const SERVER_CORE = '0';
const CLIENT_CORE = '1';
/** A target whose responses are mostly not 2xx measures an error path, not the endpoint: the run fails. */
const MAX_ERROR_RATIO = 0.5;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

/** Pins every thread of this process (autocannon's load) to `core`. */
function pinSelf(core: string): void {
  const pinned = spawnSync('taskset', ['-a', '-p', '-c', core, String(process.pid)], { stdio: 'ignore' });
  if (pinned.status !== 0) throw new Error(`taskset could not pin the benchmark to core ${core}`);
}

/** `node --import tsx <script>`, pinned to `core` (taskset, which execs node in the same process) when one is given. */
function nodeCommand(script: string, core?: string): [string, string[]] {
  const node: [string, string[]] = [process.execPath, ['--import', 'tsx', script]];
  return core === undefined ? node : ['taskset', ['-c', core, node[0], ...node[1]]];
}

/** Starts `node --import tsx <script>` in the repository root, its output passed through to stderr. */
function startChild(name: string, script: string, env: Record<string, string>, core?: string): ChildProcess {
  const [command, args] = nodeCommand(script, core);
  const child = spawn(command, args, {
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

/** A benchmark script in its own process (its progress to stderr), pinned to `core` if given: the JSON it prints. */
async function runBenchmarkScript(script: string, env: Record<string, string> = {}, core?: string): Promise<unknown> {
  const [command, args] = nodeCommand(script, core);
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
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

/**
 * Waits until the cluster primary has `count` workers and they have all finished starting: the first one answering
 * says nothing of the others, still compiling and loading while the measurement would run.
 */
async function workersSettled(primary: ChildProcess, count: number, seconds = 120): Promise<void> {
  const pid = primary.pid as number;
  const deadline = Date.now() + seconds * 1000;
  let before = cpuSeconds(primary);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const workers = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).length;
    const now = cpuSeconds(primary);
    // Idle workers spend next to no CPU: less than a tenth of a core over the last second, all of them together.
    if (workers === count && now - before < 0.1) return;
    before = now;
  }
  throw new Error(`the ${count} workers did not settle within ${seconds}s`);
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

/** One target's rounds as one result: rates and latencies averaged, p99 the worst round's, counts summed. */
function mergeRounds(rounds: Omit<Measured, 'ratioToHelloWorld'>[]): Omit<Measured, 'ratioToHelloWorld'> {
  const sum = (pick: (round: Omit<Measured, 'ratioToHelloWorld'>) => number) => rounds.reduce((total, round) => total + pick(round), 0);
  const requests = sum((round) => round.requests);
  return {
    ...rounds[0]!,
    requestsPerSecond: Math.round((sum((round) => round.requestsPerSecond) / rounds.length) * 10) / 10,
    serverCpuMicrosPerRequest: Math.round(sum((round) => round.serverCpuMicrosPerRequest * round.requests) / requests),
    latencyP50Ms: Math.round((sum((round) => round.latencyP50Ms) / rounds.length) * 10) / 10,
    latencyP99Ms: Math.max(...rounds.map((round) => round.latencyP99Ms)),
    requests,
    non2xx: sum((round) => round.non2xx),
    errors: sum((round) => round.errors),
    timeouts: sum((round) => round.timeouts),
  };
}

/** `targets` measured in turn, `rounds` times over: one result per target. */
async function measureAlternating(targets: Target[], rounds: number): Promise<Omit<Measured, 'ratioToHelloWorld'>[]> {
  const measured = targets.map((): Omit<Measured, 'ratioToHelloWorld'>[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, target] of targets.entries()) measured[index]!.push(await measure(target));
  }
  return measured.map(mergeRounds);
}

interface SignInRound {
  signInsPerSecond: number;
  totalSignIns: number;
}

interface Argon2Round {
  verifiesPerSecond: number;
  cpuMillisPerVerify: number;
}

/**
 * Sign-ins per second (bench/sign-in.ts's browsers on CLIENT_CORE, the server alone on SERVER_CORE) against raw
 * argon2id verifications per second (bench/argon2-verify.ts on SERVER_CORE), same cost, thread pool and concurrency,
 * in alternating rounds so that drift over the run (a machine shared with other work) falls on both alike.
 */
async function signInAgainstArgon2(
  serverEnv: Record<string, string>,
  client: { clientId: string; clientSecret: string },
  usernames: string[],
) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  log(`sign-in against raw argon2id: the auth server on ${issuer}, core ${SERVER_CORE}, UV_THREADPOOL_SIZE=${THREAD_POOL_SIZE}`);
  stopping = false;
  const threads = { UV_THREADPOOL_SIZE: THREAD_POOL_SIZE };
  const server = startChild('auth-sign-in', 'src/main.ts', { ...serverEnv, ...threads, AUTH_PORT: String(port), AUTH_ISSUER: issuer }, SERVER_CORE);
  await waitFor(`${issuer}/healthz`, server);
  const browsers = {
    SIGN_IN_ISSUER: issuer,
    SIGN_IN_CLIENT_ID: client.clientId,
    SIGN_IN_CLIENT_SECRET: client.clientSecret,
    SIGN_IN_USERNAMES: usernames.join(','),
    SIGN_IN_PASSWORD,
    BENCH_DURATION: String(DURATION),
    BENCH_WARMUP: String(WARMUP),
  };
  const verifications = { ...threads, BENCH_SIGNIN_CONCURRENCY: String(usernames.length), BENCH_ARGON2_SECONDS: String(DURATION) };
  const signIns: number[] = [];
  const verifies: number[] = [];
  let cpuSeconds = 0;
  let totalSignIns = 0;
  const verifyCpuMillis: number[] = [];
  let argon2Verify: Argon2Round | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const cpuBefore = processCpuSeconds(server.pid as number);
    const measured = (await runBenchmarkScript('bench/sign-in.ts', browsers, CLIENT_CORE)) as SignInRound;
    cpuSeconds += processCpuSeconds(server.pid as number) - cpuBefore;
    totalSignIns += measured.totalSignIns;
    signIns.push(measured.signInsPerSecond);
    argon2Verify = (await runBenchmarkScript('bench/argon2-verify.ts', verifications, SERVER_CORE)) as Argon2Round;
    verifies.push(argon2Verify.verifiesPerSecond);
    verifyCpuMillis.push(argon2Verify.cpuMillisPerVerify);
    log(`sign-in round ${round + 1}: ${signIns.at(-1)} sign-ins/s, ${verifies.at(-1)} raw argon2id verifications/s`);
  }
  await stopChildren();
  const mean = (values: number[]) => Math.round((values.reduce((sum, value) => sum + value, 0) / values.length) * 10) / 10;
  const serverCpuMillisPerSignIn = Math.round((cpuSeconds * 1e4) / totalSignIns) / 10;
  const argon2CpuMillisPerVerify = mean(verifyCpuMillis);
  return {
    signInsPerSecond: mean(signIns),
    argon2VerifiesPerSecond: mean(verifies),
    ratioToArgon2: Math.round((mean(signIns) / mean(verifies)) * 1000) / 1000,
    serverCpuMillisPerSignIn,
    argon2CpuMillisPerVerify,
    // Sign-ins per CPU second against verifications per CPU second: the same comparison where the server, not the
    // browsers or the stores it waits on, is what runs out first.
    cpuRatioToArgon2: Math.round((argon2CpuMillisPerVerify / serverCpuMillisPerSignIn) * 1000) / 1000,
    setup: {
      concurrency: usernames.length,
      threadPoolSize: Number(THREAD_POOL_SIZE),
      serverCore: Number(SERVER_CORE),
      browsersCore: Number(CLIENT_CORE),
      rounds: ROUNDS,
      signIn: 'GET /auth, the sign-in page, POST the password form, the redirect back with a code (bench/sign-in.ts)',
    },
    rounds: { signInsPerSecond: signIns, argon2VerifiesPerSecond: verifies },
    argon2Verify,
  };
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
    // Every sign-in comes from 127.0.0.1 too.
    LOGIN_RATE_LIMIT: '100000',
  };

  // The server does not migrate PostgreSQL itself: migrate, and register the benchmark's instance, first.
  log('migrating the scratch database and registering an instance');
  const stores = await openStores(loadConfig({ ...serverEnv }), { schema: 'migrate' });
  let clientId: string;
  let clientSecret: string;
  let signInClient: { clientId: string; clientSecret: string };
  const signInUsernames = Array.from({ length: SIGN_IN_CONCURRENCY }, (_, browser) => `bench${browser}`);
  try {
    const created = await stores.instances.create({
      name: 'Benchmark instance',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    clientId = created.instance.clientId;
    clientSecret = created.clientSecret as string;
    // The sign-in benchmark's instance (code flow, no consent page) and one account per browser, at the server's cost.
    const codeFlow = await stores.instances.create({
      name: 'Sign-in benchmark instance',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      skipConsent: true,
    });
    signInClient = { clientId: codeFlow.instance.clientId, clientSecret: codeFlow.clientSecret as string };
    const passwordHash = await stores.hasher.hash(SIGN_IN_PASSWORD);
    for (const username of signInUsernames) await stores.accounts.create({ username, passwordHash });
  } finally {
    await stores.close();
  }

  const barePort = await freePort();
  const bare = `http://127.0.0.1:${barePort}`;
  const bareSecret = randomBytes(24).toString('base64url');
  log(`starting the auth server on ${issuer}, the Koa hello-world on 127.0.0.1:${helloPort}, the bare provider on ${bare}`);
  // As the issue's figures were taken: each single-process server on one core, the load generator (this process) on the
  // other, so that a server's rate is what its own CPU allows; PostgreSQL and Redis run where the scheduler puts them.
  pinSelf(CLIENT_CORE);
  const auth = startChild('auth', 'src/main.ts', serverEnv, SERVER_CORE);
  const hello = startChild('hello', 'bench/hello-server.ts', { PORT: String(helloPort) }, SERVER_CORE);
  const bareProvider = startChild('bare', 'bench/bare-provider.ts', { PORT: String(barePort), BARE_SECRET: bareSecret }, SERVER_CORE);
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
  // The cheap GETs are compared with hello-world as ratios: measured in alternating rounds, so that load from elsewhere
  // on the machine falls on each alike.
  const againstHelloWorld: Target[] = [
    { name: 'koa-hello-world', server: hello, options: { url: `http://127.0.0.1:${helloPort}/` } },
    { name: 'discovery', server: auth, options: { url: `${issuer}/.well-known/openid-configuration` } },
    { name: 'jwks', server: auth, options: { url: `${issuer}/jwks` } },
  ];
  const targets: Target[] = [
    { name: 'token-client-credentials', server: auth, options: { url: `${issuer}/token`, method: 'POST', headers: form, body: clientCredentials } },
    { name: 'introspection-jwt', server: auth, options: { url: `${issuer}/token/introspection`, method: 'POST', headers: form, body: introspectionBody } },
    { name: 'bare-token-client-credentials', server: bareProvider, options: { url: `${bare}/token`, method: 'POST', headers: bareJwtForm, body: clientCredentials } },
    { name: 'bare-introspection-opaque', server: bareProvider, options: { url: `${bare}/token/introspection`, method: 'POST', headers: bareOpaqueForm, body: bareIntrospectionBody } },
  ];
  const results = await measureAlternating(againstHelloWorld, ROUNDS);
  for (const target of targets) results.push(await measure(target));
  await stopChildren();

  const workersPort = await freePort();
  const workersIssuer = `http://127.0.0.1:${workersPort}`;
  log(`starting the auth server with AUTH_WORKERS=2 on ${workersIssuer}`);
  stopping = false;
  // Two workers are about using both cores: nothing pinned from here on (children inherit this process's affinity).
  pinSelf(`0-${cpus().length - 1}`);
  const workers = startChild('auth-2-workers', 'src/main.ts', { ...serverEnv, AUTH_PORT: String(workersPort), AUTH_ISSUER: workersIssuer, AUTH_WORKERS: '2' });
  await waitFor(`${workersIssuer}/healthz`, workers);
  await workersSettled(workers, 2);
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
    jwksToHelloWorld: ratio(rate('jwks'), baseline),
    clientCredentialsTwoWorkersToOne: ratio(rate('token-client-credentials-2-workers'), rate('token-client-credentials')),
  };

  log('instance SDK micro benchmark (bench/sdk-verify.ts)');
  const sdk = await runBenchmarkScript('bench/sdk-verify.ts');
  log('revoke → refused by a connected instance, 1,000 revocations, 50 instances (bench/revocation-latency.ts)');
  const revocations = await runBenchmarkScript('bench/revocation-latency.ts');
  log('sign-in with and without audit writes (bench/sign-in-audit.ts)');
  const signInAudit = await runBenchmarkScript('bench/sign-in-audit.ts');
  const totpVerify = await runBenchmarkScript('bench/totp-verify.ts');
  log('one passkey check vs. one argon2id verification (bench/passkey-verify.ts)');
  const passkeyVerify = await runBenchmarkScript('bench/passkey-verify.ts');
  log('failed sign-in time, existing account vs. unknown username (bench/sign-in-timing.ts)');
  const signInTiming = await runBenchmarkScript('bench/sign-in-timing.ts');
  const signIn = await signInAgainstArgon2(serverEnv, signInClient, signInUsernames);

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
      roundsAgainstHelloWorld: ROUNDS,
      server: 'src/main.ts in its own process (tsx), PostgreSQL + Redis, one worker (then two), LOG_LEVEL=warn',
      baseline: 'Koa hello-world in its own process (bench/hello-server.ts)',
      bareProvider: 'oidc-provider with its in-memory adapter and static clients, ES256 JWTs (bench/bare-provider.ts)',
      serverCpu: 'user + system CPU of the serving process (and its workers) over the measured run, from /proc',
      cores: `each one-process server on core ${SERVER_CORE}, autocannon (this process) on core ${CLIENT_CORE}; AUTH_WORKERS=2 unpinned`,
    },
    targets: results.map((result) => ({
      ...result,
      ratioToHelloWorld: Math.round((result.requestsPerSecond / baseline) * 1000) / 1000,
    })),
    comparisons,
    sdk,
    revocations,
    signInAudit,
    totpVerify,
    passkeyVerify,
    signInTiming,
    signIn,
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
