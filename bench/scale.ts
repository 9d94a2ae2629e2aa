// Scale benchmark (`npm run bench:scale`): PostgreSQL seeded as a busy deployment looks (1,000,000 accounts, 1,000
// instances, 2,000,000 access links, 10,000,000 audit entries over a year), the server on it (PostgreSQL + Redis, in
// this process), and the p50/p95 of every read the console, the admin API and the CLI make at that size, each against
// its target (✔/✘). Also: a CSV export of 1,000,000 entries (rate, linearity, memory), a retention prune of the
// oldest month while sign-ins go on (how long each sign-in waited), and sign-in on a small database in the same run
// (the figure the large one's p50 is compared with). Prints one JSON document on stdout; progress goes to stderr.
//
// The seeded database is kept between runs (seeding takes minutes): it is seeded only when its marker row says it is
// not, or with BENCH_SCALE_RESEED=1. The prune deletes the oldest entries; they are written again after it.
//
// Environment (all optional): BENCH_SCALE_URL (postgres://postgres@127.0.0.1:5432/chillfi3_scale: created if missing),
// BENCH_SCALE_SAMPLES (40 requests per operation), BENCH_SCALE_EXPORT_SECONDS (600: an export still running then is
// stopped and reported as such), BENCH_SCALE_RESEED, BENCH_SCALE_ONLY (comma-separated sections: reads, export, prune,
// import). PostgreSQL and Redis otherwise as the tests find them (TEST_POSTGRES_URL, TEST_REDIS_URL).
import { spawn } from 'node:child_process';
import pg from 'pg';
import { encodeCursor } from '../src/audit/audit-cursor.js';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../src/instances/instance-store.js';
import { BrowserAgent } from '../test/support/browser-agent.js';
import { addInstance, codeFlow, PASSWORD } from '../test/support/fixtures.js';
import { startTestServer, type TestServer } from '../test/support/test-server.js';
import { ACCOUNTS, AUDIT_ROWS, accountIdOf, seedScale, seedAuditRange, type SeedInfo } from './scale-seed.js';

const SCALE_URL = process.env.BENCH_SCALE_URL ?? 'postgres://postgres@127.0.0.1:5432/chillfi3_scale';
const SAMPLES = Number(process.env.BENCH_SCALE_SAMPLES ?? 40);
const EXPORT_SECONDS = Number(process.env.BENCH_SCALE_EXPORT_SECONDS ?? 600);
const ONLY = process.env.BENCH_SCALE_ONLY?.split(',') ?? ['reads', 'export', 'prune', 'import'];
/** Every console and API read at this size: p95 at most this. */
const READ_P95_MS = 100;
/** Sign-in at this size: p50 within this share of the small database's. */
const SIGN_IN_SLACK = 0.1;
/** A sign-in during the prune waits at most this much longer than the ones before it. */
const PRUNE_BLOCK_MS = 100;
const DAY_MS = 86_400_000;

const log = (message: string) => process.stderr.write(`[bench:scale] ${message}\n`);
const round = (value: number) => Math.round(value * 10) / 10;

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] as number;
}

interface Timed {
  p50: number;
  p95: number;
  max: number;
  /** Answers that were not 2xx (a 503 is the statement timeout), by status. */
  failures: Record<string, number>;
  bytes: number;
}

/** Runs `request` SAMPLES times after three warm-ups, one at a time: each one's time and status. */
async function timed(request: (index: number) => Promise<{ status: number; bytes: number }>, samples = SAMPLES): Promise<Timed> {
  for (let warmup = 0; warmup < 3; warmup++) await request(samples + warmup);
  const times: number[] = [];
  const failures: Record<string, number> = {};
  let bytes = 0;
  for (let index = 0; index < samples; index++) {
    const started = performance.now();
    const answer = await request(index);
    times.push(performance.now() - started);
    bytes = Math.max(bytes, answer.bytes);
    if (answer.status < 200 || answer.status >= 300) failures[answer.status] = (failures[answer.status] ?? 0) + 1;
  }
  return { p50: round(percentile(times, 0.5)), p95: round(percentile(times, 0.95)), max: round(Math.max(...times)), failures, bytes };
}

interface Deployment {
  server: TestServer;
  adminToken: string;
  console: BrowserAgent;
  client: Awaited<ReturnType<typeof addInstance>>['client'];
}

/** The server on `database`, its admin signed in to the API (a token with the admin scope) and to the console. */
async function deploy(server: TestServer, info: Pick<SeedInfo, 'rootUsername'>): Promise<Deployment> {
  const consoleInstance = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE], name: `Bench console ${Date.now()}` });
  const adminToken = (await codeFlow(consoleInstance.client, { username: info.rootUsername, scope: `openid profile ${ADMIN_SCOPE}` })).tokens.access_token;
  const agent = new BrowserAgent();
  const page = await agent.open(`${server.url}/admin`);
  const signedIn = await agent.signIn(page, info.rootUsername, PASSWORD);
  if (signedIn.status !== 200 || !signedIn.url.endsWith('/admin')) throw new Error(`console sign-in failed: ${signedIn.status} ${signedIn.url}`);
  return { server, adminToken, console: agent, client: consoleInstance.client };
}

async function api(deployment: Deployment, path: string): Promise<{ status: number; bytes: number; body: string }> {
  const response = await fetch(`${deployment.server.url}${path}`, { headers: { authorization: `Bearer ${deployment.adminToken}` } });
  const body = await response.text();
  return { status: response.status, bytes: body.length, body };
}

async function page(deployment: Deployment, path: string): Promise<{ status: number; bytes: number }> {
  const answer = await deployment.console.open(`${deployment.server.url}${path}`);
  return { status: answer.status, bytes: answer.body.length };
}

/** One full sign-in of `username` (authorization request, sign-in page, password, back with a code): its status. */
async function signIn(deployment: Deployment, username: string): Promise<{ status: number; bytes: number }> {
  try {
    await codeFlow(deployment.client, { username, scope: 'openid' });
    return { status: 200, bytes: 0 };
  } catch {
    return { status: 500, bytes: 0 };
  }
}

interface Measured extends Timed {
  target: string;
  met: '✔' | '✘';
}

const readTarget = (result: Timed): Measured => ({
  ...result,
  target: `p95 ≤ ${READ_P95_MS} ms, no failure`,
  met: result.p95 <= READ_P95_MS && Object.keys(result.failures).length === 0 ? '✔' : '✘',
});

/** The number of the seeded account a request's index picks: spread out, never one of the locked ones (bench/scale-seed.ts). */
function seededUser(index: number): number {
  const n = 1 + ((index * 7919) % ACCOUNTS);
  return n % 5000 === 1 ? n + 1 : n;
}

/** A cursor positioned `days` back from the seed's newest entry, as a page ending there would hand out. */
function cursorDaysBack(info: SeedInfo, days: number): string {
  return encodeCursor({ at: new Date(info.newestAt.getTime() - days * DAY_MS), id: 'ffffffff-ffff-7fff-bfff-ffffffffffff' });
}

async function reads(deployment: Deployment, info: SeedInfo, small: Timed): Promise<Record<string, Measured>> {
  const results: Record<string, Measured> = {};
  const run = async (name: string, request: (index: number) => Promise<{ status: number; bytes: number }>, target = readTarget) => {
    log(`${name}...`);
    results[name] = target(await timed(request));
    log(`${name}: ${JSON.stringify(results[name])}`);
  };
  const user = (index: number) => `user${String(seededUser(index)).padStart(7, '0')}`;
  const big = info.bigInstanceId;
  const audit = (query: Record<string, string>) => `/admin/audit?${new URLSearchParams(query)}`;
  const day = (days: number) => new Date(info.newestAt.getTime() - days * DAY_MS).toISOString();

  await run('signIn', (index) => signIn(deployment, user(index)), (result) => ({
    ...result,
    target: `p50 within ${SIGN_IN_SLACK * 100} % of the small database's (${small.p50} ms)`,
    met: result.p50 <= small.p50 * (1 + SIGN_IN_SLACK) && Object.keys(result.failures).length === 0 ? '✔' : '✘',
  }));
  await run('api.usersSearchPrefix', (index) => api(deployment, `/admin/users?search=${user(index).slice(0, 9)}`));
  await run('api.usersNoSearch', () => api(deployment, '/admin/users'));
  await run('api.user', (index) => api(deployment, `/users/${accountIdOf(seededUser(index))}`));
  await run('api.instanceMembers', () => api(deployment, `/admin/instances/${big}/access`));
  await run('console.dashboard', () => page(deployment, '/admin'));
  await run('console.usersSearchPrefix', (index) => page(deployment, `/admin/users?search=${user(index).slice(0, 9)}`));
  await run('console.users', () => page(deployment, '/admin/users'));
  await run('console.instanceMembers', () => page(deployment, `/admin/instances/${big}/access`));
  await run('audit.byUser', (index) => api(deployment, audit({ accountId: accountIdOf(seededUser(index)) })));
  await run('audit.byInstance', () => api(deployment, audit({ instanceId: big })));
  await run('audit.byInstanceDeep', () => api(deployment, audit({ instanceId: big, cursor: cursorDaysBack(info, 180) })));
  await run('audit.byInstanceFailures', () => api(deployment, audit({ instanceId: big, outcome: 'failure' })));
  await run('audit.byInstanceFailuresDeep', () => api(deployment, audit({ instanceId: big, outcome: 'failure', cursor: cursorDaysBack(info, 180) })));
  await run('audit.rareAction', () => api(deployment, audit({ action: 'key.*' })));
  await run('audit.byAction', () => api(deployment, audit({ action: 'login' })));
  await run('audit.byActionDeep', () => api(deployment, audit({ action: 'login', cursor: cursorDaysBack(info, 180) })));
  await run('audit.dateRange', () => api(deployment, audit({ since: day(91), until: day(90) })));
  await run('audit.dateRangeDeep', () => api(deployment, audit({ since: day(120), until: day(90), cursor: cursorDaysBack(info, 105) })));
  await run('console.audit', () => page(deployment, '/admin/audit'));
  await run('console.auditByInstanceDeep', () => page(deployment, `/admin/audit?instance=${big}&cursor=${encodeURIComponent(cursorDaysBack(info, 180))}`));
  return results;
}

/** Reads the console's CSV export of ~1,000,000 entries (36.5 days of the trail): rate, rate by tenth, memory, ending. */
async function exportCsv(deployment: Deployment, info: SeedInfo) {
  const from = new Date(info.newestAt.getTime() - 60 * DAY_MS).toISOString().slice(0, 10);
  const to = new Date(info.newestAt.getTime() - 24 * DAY_MS).toISOString().slice(0, 10);
  const url = `${deployment.server.url}/admin/audit/export?${new URLSearchParams({ from, to })}`;
  const expected = Math.round((AUDIT_ROWS * 37) / 365);
  log(`export of ${from} to ${to} (~${expected} rows)...`);
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const started = performance.now();
  const controller = new AbortController();
  const stop = setTimeout(() => controller.abort(), EXPORT_SECONDS * 1000);
  let lines = 0;
  let tail = '';
  const marks: number[] = [];
  let status = 0;
  let stoppedAfterSeconds: number | null = null;
  try {
    const response = await fetch(url, { headers: { cookie: await deployment.console.jar.getCookieString(url), accept: 'text/html' }, signal: controller.signal });
    status = response.status;
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) {
        lines++;
        if (lines % 100_000 === 0) {
          marks.push(performance.now());
          log(`export: ${lines} lines, ${round((performance.now() - started) / 1000)} s`);
        }
      }
      tail = (tail + text).slice(-300);
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    stoppedAfterSeconds = EXPORT_SECONDS;
  } finally {
    clearTimeout(stop);
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const rows = Math.max(0, lines - 1);
  // Seconds per 100,000 rows, first tenth against the last: linear when the last is no slower than 1.5 times the first.
  const spans = marks.map((mark, index) => (mark - (index === 0 ? started : (marks[index - 1] as number))) / 1000);
  const complete = stoppedAfterSeconds === null && !tail.includes('INCOMPLETE');
  return {
    status,
    rows,
    seconds: round(seconds),
    rowsPerSecond: Math.round(rows / seconds),
    secondsPer100kRows: spans.map(round),
    peakRssGrowthMb: Math.round((peakRss - rssBefore) / 1048576),
    stoppedAfterSeconds,
    lastLine: tail.trimEnd().split('\n').at(-1)?.slice(0, 200),
    target: `all ~${expected} rows, linear (last 100k no slower than 1.5 × the first), server memory bounded`,
    met: complete && rows >= expected * 0.95 && spans.length > 1 && (spans.at(-1) as number) <= 1.5 * (spans[0] as number) ? '✔' : '✘',
  };
}

/** Prunes the entries older than 335 days while one browser signs in over and over; then writes them again. */
async function prune(deployment: Deployment, info: SeedInfo, database: pg.Client) {
  const cutoff = new Date(info.newestAt.getTime() - 335 * DAY_MS);
  const due = Number((await database.query('SELECT count(*) AS n FROM auth_audit WHERE at < $1', [cutoff])).rows[0].n);
  log(`prune of ${due} due entries, sign-ins alongside...`);
  const user = (index: number) => `user${String(seededUser(index * 13)).padStart(7, '0')}`;
  const before = await timed((index) => signIn(deployment, user(index)), 20);
  const during: number[] = [];
  let pruning = true;
  const signIns = (async () => {
    for (let index = 0; pruning; index++) {
      const started = performance.now();
      await signIn(deployment, user(1000 + index));
      during.push(performance.now() - started);
    }
  })();
  const started = performance.now();
  let deleted = 0;
  let error: string | null = null;
  try {
    deleted = await deployment.server.services.audit.prune(cutoff);
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
  }
  const seconds = (performance.now() - started) / 1000;
  pruning = false;
  await signIns;
  const remaining = Number((await database.query('SELECT count(*) AS n FROM auth_audit WHERE at < $1', [cutoff])).rows[0].n);
  log(`prune: ${deleted} deleted in ${round(seconds)} s (${error ?? 'no error'}), ${remaining} left; writing them again...`);
  await seedAuditRange(database, info, info.auditRowsBefore(cutoff), AUDIT_ROWS);
  const worst = during.length ? Math.max(...during) : 0;
  return {
    due,
    deleted,
    remaining,
    error,
    seconds: round(seconds),
    rowsPerSecond: Math.round(deleted / seconds),
    signInBefore: { p50: before.p50, p95: before.p95, max: before.max },
    signInDuring: { count: during.length, p50: round(percentile(during, 0.5)), p95: round(percentile(during, 0.95)), max: round(worst) },
    target: `every due entry deleted, no error; no sign-in during it more than ${PRUNE_BLOCK_MS} ms slower than the p95 before`,
    met: error === null && remaining === 0 && worst <= before.p95 + PRUNE_BLOCK_MS ? '✔' : '✘',
  };
}

/** Sign-in on a small database (a few accounts), the same server set-up: what the large one's p50 is held to. */
async function smallSignIn(): Promise<Timed> {
  const server = await startTestServer('postgres+redis');
  try {
    const { hasher, accounts } = server.services;
    const hash = await hasher.hash(PASSWORD);
    await accounts.create({ username: 'root', passwordHash: hash, isAdmin: true });
    for (let index = 0; index < 50; index++) await accounts.create({ username: `user${String(index + 1).padStart(7, '0')}`, passwordHash: hash });
    const deployment = await deploy(server, { rootUsername: 'root' });
    return await timed((index) => signIn(deployment, `user${String(1 + (index % 50)).padStart(7, '0')}`));
  } finally {
    await server.close();
  }
}

/** bench/scale-import.ts in a process of its own (its peak memory is the import's): the JSON it prints. */
async function importInOwnProcess(): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/scale-import.ts'], { env: { ...process.env, BENCH_SCALE_URL: SCALE_URL }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`bench/scale-import.ts exited with code ${code}`);
  return JSON.parse(output);
}

async function main() {
  const output: Record<string, unknown> = { benchmark: 'scale: 1,000,000 accounts, 1,000 instances, 2,000,000 access links, 10,000,000 audit entries' };
  const database = new pg.Client({ connectionString: SCALE_URL });
  const info = await seedScale(SCALE_URL, log);
  await database.connect();
  const migrationStarted = performance.now();
  // The server migrates the seeded database as it starts: what a new index costs a live table of that size.
  const server = await startTestServer('postgres+redis', {}, { database: { env: { AUTH_DATABASE_URL: SCALE_URL }, drop: async () => {} } });
  output.startAndMigrateSeconds = round((performance.now() - migrationStarted) / 1000);
  try {
    const deployment = await deploy(server, info);
    output.setup = { samples: SAMPLES, accounts: info.accounts, auditRows: AUDIT_ROWS, server: 'PostgreSQL + Redis, in process, argon2id at the test cost' };
    if (ONLY.includes('reads')) {
      log('sign-in on a small database...');
      const small = await smallSignIn();
      output.smallSignIn = small;
      output.reads = await reads(deployment, info, small);
    }
    if (ONLY.includes('export')) output.csvExport = await exportCsv(deployment, info);
    if (ONLY.includes('prune')) output.prune = await prune(deployment, info, database);
    if (ONLY.includes('import')) output.import = await importInOwnProcess();
  } finally {
    await server.close();
    await database.end();
  }
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}

await main();
