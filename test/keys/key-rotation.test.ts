import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { rotationTimes } from '../../src/keys/key-set-watch.js';
import { createAuthClient, type AuthClient, type AuthClientOptions } from '../../src/sdk/index.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { cli, cliJson } from '../support/cli.js';
import { addAccount, addInstance, basicAuth, codeFlow } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { countRequests, sdkClientFor } from '../sdk/support/sdk-server.js';

/** Nodes look at signing_keys every second here, so that a change reaches them within a test. */
const FAST_CHECKS = { AUTH_KEY_CHECK_INTERVAL: '1' };

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function publishedKids(node: TestServer): Promise<string[]> {
  const jwks = (await (await fetch(`${node.url}/jwks`)).json()) as { keys: { kid: string }[] };
  return jwks.keys.map((key) => key.kid).sort();
}

/** A fresh client_credentials access token minted by `node`. */
async function serviceToken(node: TestServer, clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${node.url}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
  });
  expect(response.status, await response.clone().text()).to.equal(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function introspect(node: TestServer, clientId: string, secret: string, token: string): Promise<boolean> {
  const response = await fetch(`${node.url}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  return ((await response.json()) as { active: boolean }).active;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;

describe('signing key rotation, with the SDK verifying offline throughout (SQLite)', function () {
  let server: TestServer;
  let auth: AuthClient;
  let client: oidc.Configuration;
  let jwksFetches: () => number;
  let sdkOptions: AuthClientOptions;
  before(async function () {
    server = await startTestServer('sqlite', FAST_CHECKS);
    const requests = countRequests(server);
    jwksFetches = () => requests.get('GET /jwks') ?? 0;
    await addAccount(server, 'alice');
    let instance: { clientId: string };
    let clientSecret: string;
    ({ auth, oidcClient: client, instance, clientSecret } = await sdkClientFor(server));
    sdkOptions = { serverUrl: server.issuer, clientId: instance.clientId, clientSecret, logger: null };
  });
  after(async function () {
    auth.close();
    await server.close();
  });

  it('publishes a staged key before it signs, signs with it once due, and removes the old one after its tokens expired', async function () {
    const before = (await codeFlow(client, { username: 'alice' })).tokens.access_token;
    const oldKid = kidOf(before);
    expect((await auth.verifyAccessToken(before)).user.username).to.equal('alice');

    // Staged: in every JWKS at once, signing nothing.
    const { staged } = await cliJson<{ staged: { kid: string; alg: string }[] }>(server.env, ['keys', 'rotate', '--alg', 'ES256']);
    const newKid = staged[0]!.kid;
    await until('the staged key is published', async () => (await publishedKids(server)).includes(newKid));
    const stillOld = (await codeFlow(client, { username: 'alice' })).tokens.access_token;
    expect(kidOf(stillOld), 'a next key signs nothing').to.equal(oldKid);
    // An instance whose SDK fetched the key set now, while the key is staged, and keeps it for an hour.
    const cached = createAuthClient({ ...sdkOptions, jwksMaxAgeSeconds: 3600, jwksCooldownSeconds: 3600 });
    await cached.verifyAccessToken(before);

    // Due (the publish delay passed): every node signs with the new key, the old one is retiring but published.
    const times = rotationTimes(server.services.config);
    const activation = new Date(Date.now() + times.publishSeconds * 1000);
    expect((await server.services.keys.advance(times, activation)).activated).to.deep.equal([newKid]);
    const after = await until('tokens are signed with the new key', async () => {
      const token = (await codeFlow(client, { username: 'alice' })).tokens.access_token;
      return kidOf(token) === newKid && token;
    });
    const fetchesBefore = jwksFetches();
    expect((await cached.verifyAccessToken(after)).user.username, 'new token, offline').to.equal('alice');
    expect(jwksFetches(), 'its cached key set already held the new key').to.equal(fetchesBefore);
    cached.close();
    expect((await auth.verifyAccessToken(after)).user.username).to.equal('alice');
    expect((await auth.verifyAccessToken(before)).user.username, 'old token, offline').to.equal('alice');
    expect((await auth.validateToken(before)).user.username, 'old token, introspected').to.equal('alice');

    // Its tokens expired: the retiring key leaves the JWKS; tokens of the new key still verify.
    const removal = new Date(activation.getTime() + times.retireSeconds * 1000);
    expect((await server.services.keys.advance(times, removal)).removed).to.deep.equal([oldKid]);
    await until('the retired key is unpublished', async () => !(await publishedKids(server)).includes(oldKid));
    expect((await auth.verifyAccessToken(after)).user.username).to.equal('alice');
  });

  it('signs back-channel logout tokens with the key in use after a rotation', async function () {
    const receiver = await backchannelReceiver();
    try {
      const account = await addAccount(server, 'bob');
      const { client: withLogout } = await addInstance(server, { backchannelLogoutUri: receiver.url });
      const signedIn = await codeFlow(withLogout, { username: 'bob' });
      const oldKid = kidOf(signedIn.tokens.id_token!);
      const { staged } = await cliJson<{ staged: { kid: string }[] }>(server.env, ['keys', 'rotate', '--alg', 'RS256']);
      const times = rotationTimes(server.services.config);
      await server.services.keys.advance(times, new Date(Date.now() + times.publishSeconds * 1000));
      await until('ID tokens are signed with the new key', async () => {
        const { tokens } = await codeFlow(withLogout, { agent: signedIn.agent });
        return kidOf(tokens.id_token!) === staged[0]!.kid;
      });
      await server.services.accountSessions.endAll(account.id);
      expect(receiver.tokens).to.have.length(1);
      expect(kidOf(receiver.tokens[0]!), 'not the key the server started with').to.equal(staged[0]!.kid).and.not.equal(oldKid);
    } finally {
      receiver.server.close();
    }
  });

  it('stages replacements on its own every AUTH_KEY_ROTATION_DAYS', async function () {
    const times = { ...rotationTimes(server.services.config), rotationDays: 30 };
    const activeKids = (await server.services.keys.list()).filter((key) => key.state === 'active').map((key) => key.kid);
    expect((await server.services.keys.advance(times, new Date(Date.now() + 29 * 86_400_000))).staged).to.deep.equal([]);
    const { staged } = await server.services.keys.advance(times, new Date(Date.now() + 31 * 86_400_000));
    expect(staged).to.have.length(activeKids.length);
    expect((await server.services.keys.list()).filter((key) => key.state === 'next')).to.have.length(activeKids.length);
  });
});

describe('keys commands', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(async function () {
    await server.close();
  });

  it('lists, refuses a second staged key or retiring the only signer, and retires an active key onto its staged successor', async function () {
    const { keys } = await cliJson<{ keys: { kid: string; alg: string; state: string }[] }>(server.env, ['keys', 'list']);
    expect(keys.map((key) => `${key.alg}:${key.state}`).sort()).to.deep.equal(['ES256:active', 'RS256:active']);
    const es256 = keys.find((key) => key.alg === 'ES256')!;

    // Thumbprints are base64url: one may begin with "-", and is still a kid, not an option.
    const dashed = await cli(server.env, ['keys', 'retire', '-not-a-kid']);
    expect([dashed.code, dashed.stderr]).to.deep.equal([66, 'error: no signing key -not-a-kid\n']);

    const lonely = await cli(server.env, ['keys', 'retire', es256.kid]);
    expect(lonely.code).to.equal(73);
    expect(lonely.stderr).to.match(/keys rotate/);

    const { staged } = await cliJson<{ staged: { kid: string; alg: string }[] }>(server.env, ['keys', 'rotate']);
    expect(staged.map((key) => key.alg).sort()).to.deep.equal(['ES256', 'RS256']);
    expect((await cli(server.env, ['keys', 'rotate', '--alg', 'ES256'])).code, 'one staged key per algorithm: a conflict').to.equal(73);

    const retired = await cliJson<{ activated: string }>(server.env, ['keys', 'retire', es256.kid]);
    expect(retired.activated).to.equal(staged.find((key) => key.alg === 'ES256')!.kid);
    const after = await cliJson<{ keys: { kid: string; state: string }[] }>(server.env, ['keys', 'list']);
    expect(after.keys.find((key) => key.kid === es256.kid)?.state).to.equal('retiring');

    // Retiring it again removes it from the JWKS at once; withdrawing a staged key cancels its rotation.
    expect((await cliJson<{ removed: boolean }>(server.env, ['keys', 'retire', es256.kid])).removed).to.equal(true);
    const rs256Next = staged.find((key) => key.alg === 'RS256')!.kid;
    expect((await cliJson<{ removed: boolean }>(server.env, ['keys', 'retire', rs256Next])).removed).to.equal(true);
    const left = await cliJson<{ keys: { kid: string }[] }>(server.env, ['keys', 'list']);
    expect(left.keys.map((key) => key.kid)).to.not.include.members([es256.kid, rs256Next]);
  });
});

describe('two nodes across a key rotation (PostgreSQL + Redis)', function () {
  let first: TestServer;
  let second: TestServer;
  let clientId: string;
  let secret: string;
  before(async function () {
    first = await startTestServer('postgres+redis', FAST_CHECKS);
    second = await startTestServer('postgres+redis', {}, { join: first });
    const added = await addInstance(first);
    ({ clientSecret: secret, instance: { clientId } } = added);
  });
  after(async function () {
    await second?.close();
    await first?.close();
  });

  it('publishes, switches to and retires keys together, without a restart, and each verifies what the other signed', async function () {
    const before = await serviceToken(first, clientId, secret);
    const oldKid = kidOf(before);
    const { staged } = await cliJson<{ staged: { kid: string }[] }>(first.env, ['keys', 'rotate', '--alg', 'ES256']);
    const newKid = staged[0]!.kid;
    for (const node of [first, second]) await until('both nodes publish the staged key', async () => (await publishedKids(node)).includes(newKid));
    expect(await publishedKids(second)).to.deep.equal(await publishedKids(first));

    const times = rotationTimes(first.services.config);
    await first.services.keys.advance(times, new Date(Date.now() + times.publishSeconds * 1000));
    for (const node of [first, second]) {
      await until('both nodes sign with the new key', async () => kidOf(await serviceToken(node, clientId, secret)) === newKid);
    }
    const fromSecond = await serviceToken(second, clientId, secret);
    expect(await introspect(first, clientId, secret, fromSecond), 'new key, other node').to.equal(true);
    expect(await introspect(second, clientId, secret, before), 'old key, other node').to.equal(true);

    expect((await cliJson<{ removed: boolean }>(first.env, ['keys', 'retire', oldKid])).removed).to.equal(true);
    for (const node of [first, second]) await until('both nodes unpublish the old key', async () => !(await publishedKids(node)).includes(oldKid));
    expect(await introspect(second, clientId, secret, before), 'a removed key verifies nothing').to.equal(false);
    expect(await introspect(second, clientId, secret, fromSecond)).to.equal(true);
  });
});
