import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { expect } from 'chai';
import { loadConfig } from '../config/index.js';
import { openDatabase } from '../src/db/data-source.js';
import { REDIS_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from './support/databases.js';
import { freePort } from './support/free-port.js';
import { output, startMain, waitForLog } from './support/main-process.js';
import { TEST_SECRET_KEY } from './support/test-server.js';

const SHUTDOWN_TIMEOUT_SECONDS = 5;

/** The sqlite or PostgreSQL + Redis deployment, migrated as `chillfi3-auth migrate` would. */
async function deployment(backend: 'sqlite' | 'postgres+redis'): Promise<ScratchDatabase> {
  if (backend === 'sqlite') return scratchSqlite();
  const database = await scratchPostgres();
  const env = { ...database.env, AUTH_REDIS_URL: REDIS_URL, AUTH_SECRET_KEY: TEST_SECRET_KEY };
  await (await openDatabase(loadConfig(env).database, { schema: 'migrate' })).destroy();
  return { env, drop: database.drop };
}

interface Server {
  child: ChildProcess;
  read: () => string;
  port: number;
  exited: Promise<number | null>;
}

async function startServer(database: ScratchDatabase, env: Record<string, string> = {}, port?: number): Promise<Server> {
  port ??= await freePort();
  const child = startMain({
    AUTH_SECRET_KEY: TEST_SECRET_KEY,
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    AUTH_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_SECONDS),
    ...database.env,
    ...env,
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, read: output(child), port, exited };
}

async function listening(server: Server, count = 1): Promise<number[]> {
  const pids = () => [...server.read().matchAll(/"pid":(\d+)[^\n]*chillfi3-auth listening/g)].map((match) => Number(match[1]));
  await waitForLog(server.read, new RegExp(`(chillfi3-auth listening[^]*){${count}}`), server.child);
  return pids();
}

/** Requests that read the database (an unknown client's authorization request) and some that do not. */
const PATHS = [
  '/.well-known/openid-configuration',
  '/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Frp.example%2Fcb',
  '/jwks',
  '/healthz',
];

interface LoadReport {
  /** Requests answered with a complete response. */
  answered: number;
  /** Of them, those whose response came after the stop signal was sent. */
  answeredAfterStop: number;
  /** New connections refused: the server had stopped accepting. */
  refused: number;
  /** Every other failure: requests the server accepted and dropped. */
  lost: string[];
}

/**
 * `clients` keep-alive clients, each on its own connection, each sending its next request as soon as the last one is
 * answered, until the server exits.
 */
async function keepAliveLoad(server: Server, clients = 8): Promise<LoadReport> {
  const report: LoadReport = { answered: 0, answeredAfterStop: 0, refused: 0, lost: [] };
  let done = false;
  void server.exited.then(() => (done = true));
  const send = (agent: Agent, path: string) =>
    new Promise<void>((resolve) => {
      const { port } = server;
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: `localhost:${port}` } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          if (res.complete) {
            report.answered++;
            if (server.child.killed) report.answeredAfterStop++;
          } else report.lost.push(`${path}: incomplete response`);
          resolve();
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED' && !req.reusedSocket) report.refused++;
        else report.lost.push(`${path}: ${error.code ?? error.message} (${req.reusedSocket ? 'reused' : 'new'} connection)`);
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = client; !done; i++) await send(agent, PATHS[i % PATHS.length]!);
      agent.destroy();
    }),
  );
  return report;
}

/** Sends SIGTERM under keep-alive load; returns the load's report, the exit code and how long the stop took. */
async function stopUnderLoad(server: Server): Promise<{ report: LoadReport; code: number | null; stopMs: number }> {
  const load = keepAliveLoad(server);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const signalAt = performance.now();
  server.child.kill('SIGTERM');
  const code = await server.exited;
  const stopMs = performance.now() - signalAt;
  return { report: await load, code, stopMs };
}

describe('main: graceful shutdown', function () {
  this.timeout(40_000);
  let database: ScratchDatabase | undefined;
  let server: Server | undefined;
  afterEach(async function () {
    if (server?.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await database?.drop();
    server = undefined;
    database = undefined;
  });

  for (const backend of ['sqlite', 'postgres+redis'] as const) {
    it(`on SIGTERM under keep-alive load answers every request it accepted, closes its stores and exits 0 (${backend})`, async function () {
      database = await deployment(backend);
      server = await startServer(database);
      await listening(server);
      const { report, code, stopMs } = await stopUnderLoad(server);
      expect(report.lost).to.deep.equal([]);
      expect(report.answered).to.be.greaterThan(50);
      expect(report.answeredAfterStop).to.be.greaterThan(0);
      expect(code).to.equal(0);
      expect(stopMs).to.be.lessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000);
      // Logged once the database and Redis are closed.
      expect(server.read()).to.match(/"msg":"stopped"/);
    });
  }

  it('with AUTH_WORKERS=2: the primary passes SIGTERM on, the workers drain under keep-alive load, all exit 0', async function () {
    database = await deployment('postgres+redis');
    server = await startServer(database, { AUTH_WORKERS: '2' });
    const workers = await listening(server, 2);
    const { report, code, stopMs } = await stopUnderLoad(server);
    expect(report.lost).to.deep.equal([]);
    expect(report.answeredAfterStop).to.be.greaterThan(0);
    expect(code).to.equal(0);
    expect(stopMs).to.be.lessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000);
    for (const pid of workers) expect(() => process.kill(pid, 0)).to.throw();
  });

  it('exits 1 at AUTH_SHUTDOWN_TIMEOUT when a request is still unfinished, refusing new connections meanwhile', async function () {
    database = await deployment('sqlite');
    server = await startServer(database, { AUTH_SHUTDOWN_TIMEOUT: '2' });
    await listening(server);
    // A token request whose body never finishes arriving: the server waits for it.
    const upload = connect(server.port, '127.0.0.1');
    await once(upload, 'connect');
    upload.write(
      `POST /token HTTP/1.1\r\nHost: localhost:${server.port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        'Content-Length: 1000\r\n\r\ngrant_type=client_cre',
    );
    const uploadClosed = once(upload, 'close');
    upload.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalAt = performance.now();
    server.child.kill('SIGTERM');
    await waitForLog(server.read, /shutting down/, server.child);
    const refused = await fetch(`http://127.0.0.1:${server.port}/healthz`).then(
      () => false,
      (error: Error & { cause?: { code?: string } }) => error.cause?.code === 'ECONNREFUSED',
    );
    expect(refused).to.equal(true);
    const code = await server.exited;
    const stopMs = performance.now() - signalAt;
    expect(code).to.equal(1);
    expect(stopMs).to.be.within(2000, 3500);
    expect(server.read()).to.contain('shutdown timed out (AUTH_SHUTDOWN_TIMEOUT)');
    await uploadClosed;
  });

  it('with AUTH_WORKERS=2, restarts a worker killed with SIGKILL', async function () {
    database = await deployment('sqlite');
    server = await startServer(database, { AUTH_WORKERS: '2' });
    const [killed, survivor] = await listening(server, 2);
    process.kill(killed!, 'SIGKILL');
    const pids = await listening(server, 3);
    expect(pids[2]).to.not.be.oneOf([killed, survivor]);
    expect(server.read()).to.contain('worker died: starting another');
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).to.equal(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).to.equal(0);
  });

  it('with AUTH_WORKERS=2, gives up with exit code 1 when workers keep dying before they listen (port taken)', async function () {
    database = await deployment('sqlite');
    const squatter = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      server = await startServer(database, { AUTH_WORKERS: '2' }, port);
      const code = await server.exited;
      expect(code).to.equal(1);
      const log = server.read();
      expect(log).to.contain('EADDRINUSE');
      expect(log).to.contain('workers keep dying before they listen: giving up');
      // Restarted with growing delays before that, not in a tight loop.
      const delays = [...log.matchAll(/"restartInMs":(\d+)/g)].map((match) => Number(match[1]));
      expect(delays).to.deep.equal([100, 200, 400]);
    } finally {
      squatter.close();
    }
  });
});
