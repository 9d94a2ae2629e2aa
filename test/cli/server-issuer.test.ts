// Issue 16, item 13: with the server on AUTH_PORT 5601, `users add` from another shell printed a set-password link on
// http://localhost:3001. The server records its issuer at every start; the CLI names the server by it, and refuses an
// AUTH_ISSUER of its own that says otherwise.
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { cli, cliJson } from '../support/cli.js';
import { scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { freePort } from '../support/free-port.js';
import { output, startMain, waitForLog } from '../support/main-process.js';
import { addAccount, addInstance, codeFlow } from '../support/fixtures.js';
import { startTestServer, TEST_SECRET_KEY } from '../support/test-server.js';

interface RunningServer {
  child: ChildProcess;
  log: () => string;
}

for (const [label, scratch] of [
  ['SQLite', scratchSqlite],
  ['PostgreSQL', scratchPostgres],
] as const) {
  describe(`the CLI names the server by the issuer it runs under (${label})`, function () {
    this.timeout(90_000);
    let database: ScratchDatabase;
    /** The shell's environment: the server's database and secret, nothing about its address (AUTH_PORT 3001 by default). */
    let shellEnv: Record<string, string>;
    let port: number;
    let running: RunningServer | undefined;

    async function start(extra: Record<string, string>): Promise<RunningServer> {
      const child = startMain({ ...shellEnv, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', ...extra });
      const log = output(child);
      await waitForLog(log, /chillfi3-auth listening/, child);
      return { child, log };
    }

    async function stop(): Promise<void> {
      if (!running) return;
      running.child.kill('SIGTERM');
      await once(running.child, 'exit');
      running = undefined;
    }

    before(async function () {
      database = await scratch();
      shellEnv = { ...database.env, AUTH_SECRET_KEY: TEST_SECRET_KEY };
      expect((await cli(shellEnv, ['migrate'])).code).to.equal(0);
      port = await freePort();
    });
    after(async function () {
      await stop();
      await database?.drop();
    });

    it('prints links and AUTH_SERVER_URL on the issuer of a server on another port, and they work', async function () {
      running = await start({});
      const issuer = `http://localhost:${port}`;
      const added = await cliJson<{ passwordLink: { url: string } }>(shellEnv, ['users', 'add', '--username', 'bob', '--no-password']);
      expect(added.passwordLink.url.startsWith(`${issuer}/set-password?token=`), added.passwordLink.url).to.equal(true);
      expect((await new BrowserAgent().open(added.passwordLink.url)).status).to.equal(200);
      const link = await cliJson<{ passwordLink: { url: string } }>(shellEnv, ['users', 'password-link', 'bob']);
      expect(new URL(link.passwordLink.url).origin).to.equal(issuer);
      const instance = await cliJson<{ authServerUrl: string }>(shellEnv, [
        'instances', 'add', '--name', 'Elsewhere', '--redirect-uri', 'http://127.0.0.1:9/cb', '--grant-types', 'authorization_code',
      ]);
      expect(instance.authServerUrl).to.equal(issuer);
    });

    it('refuses an AUTH_ISSUER of its own that differs from the server’s, and takes one that agrees', async function () {
      const refused = await cli({ ...shellEnv, AUTH_ISSUER: 'https://auth.example.com' }, ['users', 'list']);
      expect(refused.code).to.equal(78);
      expect(refused.stderr).to.contain(`AUTH_ISSUER: https://auth.example.com here, but the server runs under http://localhost:${port}`);
      expect(refused.stderr).to.contain('unset AUTH_ISSUER');
      expect((await cli({ ...shellEnv, AUTH_ISSUER: `http://localhost:${port}/` }, ['users', 'list'])).code).to.equal(0);
    });

    it('follows the server to a new issuer when it starts under one, which it logs', async function () {
      await stop();
      const moved = `http://127.0.0.1:${port}`;
      running = await start({ AUTH_ISSUER: moved });
      expect(running.log()).to.contain('the server last started under another issuer');
      const link = await cliJson<{ passwordLink: { url: string } }>(shellEnv, ['users', 'password-link', 'bob']);
      expect(new URL(link.passwordLink.url).origin).to.equal(moved);
      expect((await new BrowserAgent().open(link.passwordLink.url)).status).to.equal(200);
      expect((await cli({ ...shellEnv, AUTH_ISSUER: `http://localhost:${port}` }, ['users', 'list'])).code, 'the old one is refused now').to.equal(78);
    });
  });
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  it(`the logout tokens the CLI sends when it ends sessions carry the server's issuer, not its own default (${backend})`, async function () {
    const server = await startTestServer(backend);
    const receiver = await backchannelReceiver();
    try {
      // What the server's start does (src/main.ts).
      await server.services.issuerRecord.record(server.issuer);
      const { client } = await addInstance(server, { backchannelLogoutUri: receiver.url });
      const account = await addAccount(server, 'signed-in');
      await codeFlow(client, { username: 'signed-in' });
      const { AUTH_ISSUER: _own, ...shellEnv } = server.env;
      expect((await cli(shellEnv, ['users', 'disable', 'signed-in'])).code).to.equal(0);
      const [logout] = receiver.tokens.map((token) => decodeJwt(token));
      expect(logout).to.include({ iss: server.issuer, sub: account.id });
    } finally {
      receiver.server.close();
      await server.close();
    }
  });
}
