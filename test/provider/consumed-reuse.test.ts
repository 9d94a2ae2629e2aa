/**
 * A consumed code or refresh token is kept cut down to what reuse detection reads (adapters/consumed-payload.ts).
 * Against the real provider: the checks that run before its reuse check still pass on what is kept, so a reuse still
 * revokes the grant, and the ones that refuse for another reason still refuse, without revoking anything.
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { addAccount, addInstance, basicAuth, codeFlow, issueCode, REDIRECT_URI } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`reuse of a consumed code or refresh token (${backend})`, function () {
    let server: TestServer;

    before(async function () {
      // What a consumed record keeps, read by the provider itself: no retry grace handing it the successor instead.
      server = await startTestServer(backend, { REFRESH_RETRY_GRACE_SECONDS: '0' });
      await addAccount(server, 'robin');
    });

    after(() => server?.close());

    it('[provider-pin] revokes the grant when a used refresh token comes back asking for a scope', async function () {
      const { client } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'robin' });
      const rotated = await oidc.refreshTokenGrant(client, tokens.refresh_token!);

      const reuse = await refusal(oidc.refreshTokenGrant(client, tokens.refresh_token!, { scope: 'openid' }));

      expect(reuse).to.have.property('error', 'invalid_grant');
      expect((await oidc.tokenIntrospection(client, rotated.refresh_token!)).active).to.equal(false);
    });

    it('refuses a used refresh token from another instance as a client mismatch, revoking nothing', async function () {
      const { client } = await addInstance(server);
      const other = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'robin' });
      const rotated = await oidc.refreshTokenGrant(client, tokens.refresh_token!);

      const reuse = await refusal(oidc.refreshTokenGrant(other.client, tokens.refresh_token!));

      expect(reuse).to.have.property('error', 'invalid_grant');
      expect(reuse).to.have.nested.property('error_description', 'grant request is invalid');
      expect((await oidc.tokenIntrospection(client, rotated.refresh_token!)).active).to.equal(true);
    });

    it('[provider-pin] refuses a used code with a wrong verifier without revoking, and revokes on its reuse with the right one', async function () {
      const { client, instance, clientSecret } = await addInstance(server);
      const { code, verifier } = await issueCode(client, { username: 'robin' });
      const redeem = (codeVerifier: string) =>
        tokenRequest(server, basicAuth(instance.clientId, clientSecret), {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: codeVerifier,
        });
      const issued = await redeem(verifier);
      expect(issued.status).to.equal(200);

      expect(await redeem(verifier.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A')))).to.include({ status: 400 });
      expect((await oidc.tokenIntrospection(client, issued.body.refresh_token as string)).active, 'after a wrong verifier')
        .to.equal(true);

      expect((await redeem(verifier)).body).to.have.property('error', 'invalid_grant');
      expect((await oidc.tokenIntrospection(client, issued.body.refresh_token as string)).active, 'after reuse')
        .to.equal(false);
    });
  });
}

async function tokenRequest(
  server: TestServer,
  authorization: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The error a promise rejects with; fails the test when it resolves. */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}
