// Passkey sign-in while Redis (where its challenges and the login interaction live) does not answer: the browser gets
// the 503 page with Retry-After within the store deadline, never a 500, and once Redis answers again a new passkey
// sign-in goes through.
import { expect } from 'chai';
import { BrowserAgent } from '../support/browser-agent.js';
import { addAccount, addInstance, openLoginPage, REDIRECT_URI } from '../support/fixtures.js';
import { SoftwareAuthenticator } from '../support/software-authenticator.js';
import { startRedisProcess, type StoreProcess } from '../support/store-processes.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const STORE_TIMEOUT_MS = 500;

describe('passkey sign-in with Redis frozen', function () {
  this.timeout(60_000);
  let redis: StoreProcess;
  let server: TestServer;
  const authenticator = new SoftwareAuthenticator();
  let counter = 0;

  before(async function () {
    redis = await startRedisProcess();
    server = await startTestServer(
      'postgres+redis',
      { AUTH_REDIS_URL: redis.url, AUTH_DB_TIMEOUT_MS: String(STORE_TIMEOUT_MS), AUTH_REDIS_TIMEOUT_MS: String(STORE_TIMEOUT_MS) },
      { hostname: 'localhost' },
    );
    const account = await addAccount(server, 'robin');
    await server.services.passkeys.add({
      accountId: account.id,
      credentialId: authenticator.credentialId,
      publicKey: authenticator.publicKey,
      counter: 0,
      transports: [],
      backedUp: false,
      name: 'Key',
    });
  });
  after(async function () {
    redis?.thaw();
    await server?.close();
    await redis?.remove();
  });

  /** A sign-in page and a right answer to a fresh challenge of it. */
  async function answeredSignIn(agent: BrowserAgent) {
    const { client } = await addInstance(server);
    const { page } = await openLoginPage(client, agent);
    const options = await agent.open(`${page.url}/passkey/options`, { method: 'POST', form: {} });
    const { challenge } = JSON.parse(options.body) as { challenge: string };
    const response = authenticator.assertion({ challenge, origin: server.issuer, rpId: 'localhost', counter: ++counter });
    return { interaction: page.url, response };
  }

  it('answers 503 with Retry-After while Redis is frozen, and signs in once it answers again', async function () {
    const agent = new BrowserAgent();
    const { interaction, response } = await answeredSignIn(agent);
    redis.freeze();
    const started = performance.now();
    const answer = await fetch(`${interaction}/passkey`, {
      method: 'POST',
      headers: { cookie: await agent.jar.getCookieString(interaction), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ response }),
      redirect: 'manual',
    });
    expect(answer.status).to.equal(503);
    expect(answer.headers.get('retry-after')).to.be.a('string');
    expect(await answer.text()).to.include('temporarily unavailable');
    expect(performance.now() - started).to.be.below(4 * STORE_TIMEOUT_MS);
    redis.thaw();

    const fresh = new BrowserAgent();
    const again = await answeredSignIn(fresh);
    const done = await fresh.open(`${again.interaction}/passkey`, { form: { response: again.response } }, REDIRECT_URI);
    expect(new URL(done.url).searchParams.has('code'), done.url).to.equal(true);
  });
});
