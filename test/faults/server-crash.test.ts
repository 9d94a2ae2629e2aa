import { once } from 'node:events';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { loadConfig } from '../../config/index.js';
import { openStores } from '../../src/stores.js';
import { REDIS_URL, scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { codeFlow, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { freePort } from '../support/free-port.js';
import { output, startMain, waitForLog } from '../support/main-process.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

describe('faults: kill -9 of the server', function () {
  this.timeout(60_000);
  let database: ScratchDatabase;
  let env: Record<string, string>;

  before(async function () {
    database = await scratchPostgres();
    const port = await freePort();
    env = {
      NODE_ENV: 'test',
      // Every test speaks from 127.0.0.1 and the shared Redis keeps per-address counters across runs.
      LOGIN_RATE_LIMIT: '10000',
      CLIENT_AUTH_FAILURES_PER_IP: '100000',
      CLIENT_AUTH_FAILURES_PER_CLIENT: '100000',
      AUTH_SECRET_KEY: TEST_SECRET_KEY,
      AUTH_REDIS_URL: REDIS_URL,
      AUTH_PORT: String(port),
      AUTH_HOST: '127.0.0.1',
      AUTH_ISSUER: `http://127.0.0.1:${port}`,
      ...database.env,
    };
  });
  after(() => database?.drop());

  async function startServer() {
    const child = startMain(env);
    await waitForLog(output(child), /listening/, child);
    return child;
  }

  it('loses no account, instance, grant or refresh token: all still work after a restart', async function () {
    const stores = await openStores(loadConfig(env), { schema: 'migrate' });
    const account = await stores.accounts.create({ username: 'survivor', passwordHash: await stores.hasher.hash(PASSWORD) });
    const { instance, clientSecret } = await stores.instances.create({
      name: 'Crash test instance',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      skipConsent: true,
    });
    await stores.close();

    let child = await startServer();
    try {
      const client = await oidc.discovery(new URL(env.AUTH_ISSUER as string), instance.clientId, clientSecret as string, undefined, {
        execute: [oidc.allowInsecureRequests],
      });
      const { tokens } = await codeFlow(client, { username: 'survivor' });
      expect(tokens.refresh_token).to.be.a('string');

      child.kill('SIGKILL');
      await once(child, 'exit');
      child = await startServer();

      const refreshed = await oidc.refreshTokenGrant(client, tokens.refresh_token as string);
      expect(refreshed.claims()?.sub).to.equal(account.id);
      expect((await oidc.clientCredentialsGrant(client, { scope: 'openid' })).access_token).to.be.a('string');
      const again = await codeFlow(client, { username: 'survivor' });
      expect(again.tokens.claims()?.sub).to.equal(account.id);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
