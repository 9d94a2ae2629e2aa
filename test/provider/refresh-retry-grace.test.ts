/**
 * A refresh whose answer was lost may be retried within REFRESH_RETRY_GRACE_SECONDS: the retry gets the successor the
 * lost answer carried, never a second one, so the grant keeps one live chain; any other second use revokes it.
 * Time is the test's own clock (services.clock), moved past the grace instead of waited for.
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { addAccount, addInstance, basicAuth, codeFlow } from '../support/fixtures.js';
import { tcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const GRACE_SECONDS = 30;

/** Real time, plus however far the test has moved it on. */
function testClock() {
  let ahead = 0;
  return {
    now: () => Date.now() + ahead,
    advance(seconds: number) {
      ahead += seconds * 1000;
    },
  };
}

interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A refresh at the token endpoint, its answer as sent. */
async function refresh(server: TestServer, authorization: string, refreshToken: string): Promise<TokenAnswer> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The refresh token a successful refresh answered with. */
function issued(answer: TokenAnswer): string {
  expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  expect(answer.body.refresh_token).to.be.a('string');
  return answer.body.refresh_token as string;
}

async function isActive(client: oidc.Configuration, token: string): Promise<boolean> {
  return (await oidc.tokenIntrospection(client, token)).active;
}

/** An instance whose user has signed in: its client, its credentials, and the refresh token it holds. */
async function signedIn(server: TestServer, username: string) {
  const { client, instance, clientSecret } = await addInstance(server);
  const { tokens } = await codeFlow(client, { username });
  return { client, authorization: basicAuth(instance.clientId, clientSecret), refreshToken: tokens.refresh_token! };
}

for (const backend of BACKENDS) {
  describe(`refresh retry grace (${backend})`, function () {
    const clock = testClock();
    let server: TestServer;

    before(async function () {
      server = await startTestServer(backend, { REFRESH_RETRY_GRACE_SECONDS: String(GRACE_SECONDS) }, { clock: clock.now });
      await addAccount(server, 'sam');
    });

    after(() => server?.close());

    it('[provider-pin] answers a retry within the grace with the successor it missed, and the chain goes on from that one', async function () {
      const { client, authorization, refreshToken } = await signedIn(server, 'sam');
      const lost = issued(await refresh(server, authorization, refreshToken));

      const retried = await oidc.refreshTokenGrant(client, refreshToken);

      expect(retried.refresh_token, 'the successor of the lost answer, not a second one').to.equal(lost);
      expect(await isActive(client, retried.access_token)).to.equal(true);
      const next = await oidc.refreshTokenGrant(client, lost);
      expect(next.refresh_token).to.be.a('string').and.not.equal(lost);
      expect(await isActive(client, next.refresh_token!)).to.equal(true);
      expect(await isActive(client, lost), 'used').to.equal(false);
    });

    it('answers 20 parallel retries with that same successor, the only one that goes on', async function () {
      const { client, authorization, refreshToken } = await signedIn(server, 'sam');
      const lost = issued(await refresh(server, authorization, refreshToken));

      const retries = await Promise.all(Array.from({ length: 20 }, () => refresh(server, authorization, refreshToken)));

      expect(retries.map(issued)).to.deep.equal(Array.from({ length: 20 }, () => lost));
      const next = issued(await refresh(server, authorization, lost));
      expect(await isActive(client, next)).to.equal(true);
    });

    it('revokes the grant when the token comes back after its successor was used, however soon', async function () {
      const { client, authorization, refreshToken } = await signedIn(server, 'sam');
      const successor = issued(await refresh(server, authorization, refreshToken));
      const next = issued(await refresh(server, authorization, successor));

      const reuse = await refresh(server, authorization, refreshToken);

      expect(reuse.body).to.have.property('error', 'invalid_grant');
      expect(await isActive(client, next)).to.equal(false);
    });

    it('forks no chain for a thief replaying a token just used: both share one, and the later use revokes it all', async function () {
      const { client, authorization, refreshToken } = await signedIn(server, 'sam');
      const owners = issued(await refresh(server, authorization, refreshToken));
      const thiefs = issued(await refresh(server, authorization, refreshToken));
      expect(thiefs).to.equal(owners);
      const thiefsNext = issued(await refresh(server, authorization, thiefs));
      const ownersNext = issued(await refresh(server, authorization, owners));
      expect(ownersNext, 'within the grace the owner gets the successor the thief got: still one chain').to.equal(thiefsNext);

      const ownersLast = issued(await refresh(server, authorization, ownersNext));
      clock.advance(GRACE_SECONDS + 1);
      const thiefsLast = await refresh(server, authorization, thiefsNext);

      expect(thiefsLast.body).to.have.property('error', 'invalid_grant');
      expect(await isActive(client, ownersLast)).to.equal(false);
    });

    it('holds a retry to the rules of a refresh: another instance or a wrong secret is refused, revoking nothing', async function () {
      const { client, instance, clientSecret } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'sam' });
      const authorization = basicAuth(instance.clientId, clientSecret);
      const lost = issued(await refresh(server, authorization, tokens.refresh_token!));
      const other = await addInstance(server);

      const byOther = await refresh(server, basicAuth(other.instance.clientId, other.clientSecret), tokens.refresh_token!);
      const wrongSecret = await refresh(server, basicAuth(instance.clientId, `${clientSecret}x`), tokens.refresh_token!);

      expect(byOther).to.deep.include({ status: 400 });
      expect(byOther.body).to.have.property('error', 'invalid_grant');
      expect(wrongSecret).to.deep.include({ status: 401 });
      expect(wrongSecret.body).to.have.property('error', 'invalid_client');
      expect(await isActive(client, lost)).to.equal(true);
      expect(issued(await refresh(server, authorization, tokens.refresh_token!))).to.equal(lost);
    });

    it('revokes the grant on reuse once the grace has passed', async function () {
      const { client, authorization, refreshToken } = await signedIn(server, 'sam');
      const successor = issued(await refresh(server, authorization, refreshToken));
      clock.advance(GRACE_SECONDS + 1);

      const reuse = await refresh(server, authorization, refreshToken);

      expect(reuse.body).to.have.property('error', 'invalid_grant');
      expect(await isActive(client, successor)).to.equal(false);
    });
  });

  describe(`refresh retry grace 0 (${backend})`, function () {
    let server: TestServer;

    before(async function () {
      server = await startTestServer(backend, { REFRESH_RETRY_GRACE_SECONDS: '0' });
      await addAccount(server, 'sam');
    });

    after(() => server?.close());

    it('revokes the grant on any second use, at once', async function () {
      const { client, authorization, refreshToken } = await signedIn(server, 'sam');
      const successor = issued(await refresh(server, authorization, refreshToken));

      const reuse = await refresh(server, authorization, refreshToken);

      expect(reuse.body).to.have.property('error', 'invalid_grant');
      expect(await isActive(client, successor)).to.equal(false);
    });
  });

  describe(`a refresh answer lost between two nodes (${backend})`, function () {
    let first: TestServer;
    let second: TestServer;
    let relay: TcpRelay;

    before(async function () {
      first = await startTestServer(backend);
      second = await startTestServer(backend, {}, { join: first });
      relay = await tcpRelay({ host: '127.0.0.1', port: Number(new URL(first.url).port) });
      await addAccount(first, 'kim');
    });

    after(async function () {
      await relay?.close();
      await second?.close();
      await first?.close();
    });

    it('lets the client retry on the other node after the first one rotated the token and its answer was lost', async function () {
      const { client } = await addInstance(first);
      const { tokens } = await codeFlow(client, { username: 'kim' });
      const relayed = `http://127.0.0.1:${relay.port}`;
      client[oidc.customFetch] = (url, options) => fetch(url.replace(first.issuer, relayed), options as RequestInit);

      const answerLost = relay.loseNextAnswer();
      const attempt = oidc.refreshTokenGrant(client, tokens.refresh_token!).then(
        () => undefined,
        (error: unknown) => error,
      );
      await answerLost;
      expect(await attempt, 'the client saw no answer').to.be.an('error');

      client[oidc.customFetch] = (url, options) => fetch(url.replace(first.issuer, second.url), options as RequestInit);
      const retried = await oidc.refreshTokenGrant(client, tokens.refresh_token!);

      expect(await isActive(client, retried.access_token)).to.equal(true);
      const next = await oidc.refreshTokenGrant(client, retried.refresh_token!);
      expect(await isActive(client, next.refresh_token!)).to.equal(true);
    });
  });
}
