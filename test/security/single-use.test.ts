/**
 * Single-use artifacts stay single-use under concurrent redemption, on every store set-up and across nodes: of 20
 * simultaneous redemptions of one authorization code, one refresh token or one client assertion, exactly one wins.
 * A raced code or refresh token is reuse, as a sequential one is: the grant is revoked, even the winner's tokens die.
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import {
  addAccount,
  addInstance,
  basicAuth,
  clientAssertion,
  clientCredentialsWithAssertion,
  codeFlow,
  issueCode,
  REDIRECT_URI,
} from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const RACERS = 20;

interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

for (const backend of BACKENDS) {
  describe(`single-use artifacts under concurrent redemption (${backend})`, function () {
    let first: TestServer;
    /** A second node of the same deployment; the embedded SQLite deployment is a single node. */
    let second: TestServer | undefined;

    before(async function () {
      first = await startTestServer(backend);
      if (backend !== 'sqlite') second = await startTestServer(backend, {}, { join: first });
      await addAccount(first, 'sam');
    });

    after(async function () {
      await second?.close();
      await first?.close();
    });

    it('redeems one authorization code once and revokes its grant', async function () {
      const { client, instance, clientSecret } = await addInstance(first);
      const { code, verifier } = await issueCode(client, { username: 'sam' });
      const outcomes = await race(() =>
        tokenRequest(first, basicAuth(instance.clientId, clientSecret), {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        }),
      );
      const winner = expectOneWinner(outcomes, 400, 'invalid_grant');
      await expectGrantRevoked(client, winner);
    });

    it('[provider-pin] rotates one refresh token once on one node and revokes its grant', async function () {
      const { client, instance, clientSecret } = await addInstance(first);
      const { tokens } = await codeFlow(client, { username: 'sam' });
      const authorization = basicAuth(instance.clientId, clientSecret);
      const outcomes = await race(() => refresh(first, authorization, tokens.refresh_token!));
      const winner = expectOneWinner(outcomes, 400, 'invalid_grant');
      await expectGrantRevoked(client, winner);
      const firstAccessToken = await oidc.tokenIntrospection(client, tokens.access_token);
      expect(firstAccessToken.active, 'the access token issued with the code').to.equal(false);
    });

    if (backend !== 'sqlite') {
      it('rotates one refresh token once over two nodes and revokes its grant', async function () {
        const { client, instance, clientSecret } = await addInstance(first);
        const { tokens } = await codeFlow(client, { username: 'sam' });
        const authorization = basicAuth(instance.clientId, clientSecret);
        const outcomes = await race((position) => {
          const node = position % 2 === 0 ? first : second!;
          return refresh(node, authorization, tokens.refresh_token!);
        });
        const winner = expectOneWinner(outcomes, 400, 'invalid_grant');
        await expectGrantRevoked(client, winner);
      });
    }

    it('accepts one client_secret_jwt assertion once', async function () {
      const { instance, clientSecret } = await addInstance(first, { tokenEndpointAuthMethod: 'client_secret_jwt' });
      const assertion = await clientAssertion(first, instance.clientId, clientSecret);
      const outcomes = await race(async () => outcomeOf(await clientCredentialsWithAssertion(first, assertion)));
      expectOneWinner(outcomes, 401, 'invalid_client');
    });
  });
}

/** Starts every attempt before awaiting any of them. */
function race(attempt: (position: number) => Promise<Outcome>): Promise<Outcome[]> {
  return Promise.all(Array.from({ length: RACERS }, (_, position) => attempt(position)));
}

async function outcomeOf(response: Response): Promise<Outcome> {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function tokenRequest(node: TestServer, authorization: string, form: Record<string, string>): Promise<Outcome> {
  const response = await fetch(`${node.url}/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return outcomeOf(response);
}

function refresh(node: TestServer, authorization: string, refreshToken: string): Promise<Outcome> {
  return tokenRequest(node, authorization, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

/** Exactly one attempt succeeded and every other one failed with the given error; returns the winner's body. */
function expectOneWinner(outcomes: Outcome[], loserStatus: number, loserError: string): Record<string, unknown> {
  const winners = outcomes.filter(({ status }) => status === 200);
  const losers = outcomes.filter(({ status }) => status !== 200);
  expect(winners, 'successful redemptions').to.have.lengthOf(1);
  expect(losers.map(({ status, body }) => `${status} ${String(body.error)}`)).to.deep.equal(
    Array(RACERS - 1).fill(`${loserStatus} ${loserError}`),
  );
  return winners[0]!.body;
}

/** The grant behind the winner's tokens is gone: its refresh token is refused, its access token inactive. */
async function expectGrantRevoked(client: oidc.Configuration, winner: Record<string, unknown>): Promise<void> {
  const refreshed = await oidc.refreshTokenGrant(client, winner.refresh_token as string).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refreshed, 'refresh with the winner\'s refresh token').to.have.property('error', 'invalid_grant');
  const introspection = await oidc.tokenIntrospection(client, winner.access_token as string);
  expect(introspection.active, 'the winner\'s access token').to.equal(false);
}
