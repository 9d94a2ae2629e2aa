// src/provider/jwt-presentation.ts hands oidc-provider's userinfo and revocation a JWT access token as a record the
// provider would have stored itself, written through the provider's adapter (lib/models/access_token.js,
// client_credentials.js). Held to the installed provider: every field of such a record is one the model keeps
// (IN_PAYLOAD), the provider finds the record as its own token of that client, account, grant and scope, and its
// userinfo and revocation endpoints act on it.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { ROUTES } from '../../src/provider/routes.js';
import { addAccount, addInstance, basicAuth, codeFlow } from '../support/fixtures.js';
import { postForm } from '../support/provider-alone.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface Written {
  id: string;
  payload: AdapterPayload;
}

/** Records what is written through `adapter` until `stop` is called. */
function recordWrites(adapter: Adapter): { written: Written[]; stop(): void } {
  const written: Written[] = [];
  const upsert = adapter.upsert.bind(adapter);
  adapter.upsert = (id, payload, expiresIn) => {
    written.push({ id, payload });
    return upsert(id, payload, expiresIn);
  };
  return { written, stop: () => void (adapter.upsert = upsert) };
}

/** The fields a model of the installed provider keeps (its static IN_PAYLOAD, not in its type declarations). */
function keptFields(model: unknown): string[] {
  return (model as { IN_PAYLOAD: string[] }).IN_PAYLOAD;
}

describe('src/provider/jwt-presentation.ts against the installed oidc-provider', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'robin');
  });
  after(() => server?.close());

  it("[provider-pin] writes a user's token as an AccessToken the provider finds and answers userinfo for", async function () {
    const { client } = await addInstance(server);
    const { tokens } = await codeFlow(client, { username: 'robin' });
    const claims = decodeJwt(tokens.access_token);
    const provider = server.services.liveProvider.current;
    const writes = recordWrites(provider.AccessToken.adapter);
    try {
      const userinfo = await fetch(`${server.url}${ROUTES.userinfo}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.status).to.equal(200);
      expect(((await userinfo.json()) as { sub?: string }).sub).to.equal(claims.sub);
    } finally {
      writes.stop();
    }
    expect(writes.written).to.have.length(1);
    const [{ id, payload }] = writes.written as [Written];
    expect(keptFields(provider.AccessToken)).to.include.members(Object.keys(payload));
    const found = await provider.AccessToken.find(id);
    expect(found, 'the provider finds the record as its own token').to.not.equal(undefined);
    expect({ clientId: found!.clientId, accountId: found!.accountId, grantId: found!.grantId, scope: found!.scope, kind: found!.kind }).to.deep.equal({
      clientId: claims.client_id,
      accountId: claims.sub,
      grantId: claims.grant_id,
      scope: claims.scope,
      kind: 'AccessToken',
    });
  });

  it('[provider-pin] writes a service token as ClientCredentials the provider revokes for its instance', async function () {
    const { client, instance, clientSecret } = await addInstance(server);
    const { access_token: token } = await oidc.clientCredentialsGrant(client, { scope: 'openid' });
    const provider = server.services.liveProvider.current;
    const writes = recordWrites(provider.ClientCredentials.adapter);
    let revoked;
    try {
      revoked = await postForm(server.url, ROUTES.revocation, { token }, { authorization: basicAuth(instance.clientId, clientSecret) });
    } finally {
      writes.stop();
    }
    expect(revoked.status).to.equal(200);
    expect(writes.written).to.have.length(1);
    const [{ id, payload }] = writes.written as [Written];
    expect(payload).to.include({ kind: 'ClientCredentials', clientId: instance.clientId });
    expect(keptFields(provider.ClientCredentials)).to.include.members(Object.keys(payload));
    expect(await provider.ClientCredentials.find(id), 'revoked by the provider: the record destroyed').to.equal(undefined);
    expect((await oidc.tokenIntrospection(client, token)).active).to.equal(false);
  });
});
