// PUT /users/:id/access/local-id: an instance records the local row it made for a user at first sign-in, with its
// own client_credentials token, so that the user's next tokens for it carry chillfi3_user_id.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { addAccount, addInstance, codeFlow } from '../support/fixtures.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

describe('user API: recording a local id', function () {
  let server: TestServer;
  let openApi: OpenApiCheck;
  let home: Awaited<ReturnType<typeof addInstance>>;
  let serviceToken: string;

  before(async function () {
    server = await startTestServer('sqlite');
    home = await addInstance(server);
    serviceToken = (await oidc.clientCredentialsGrant(home.client)).access_token;
    openApi = new OpenApiCheck((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument);
  });
  after(() => server.close());

  /** PUT local-id; every answer must be one the served OpenAPI document describes. */
  async function record(accountId: string, body: unknown, token = serviceToken) {
    const response = await fetch(`${server.url}/users/${accountId}/access/local-id`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    openApi.check('PUT', response.url, response.status, response.headers.get('content-type'), text);
    return { status: response.status, body: text ? (JSON.parse(text) as { detail?: string }) : {} };
  }

  it("is done by the instance's own token, without users:read, and the user's next token carries the id", async function () {
    const account = await addAccount(server, 'gail');
    const first = await codeFlow(home.client, { username: 'gail' });
    expect(decodeJwt(first.tokens.access_token)).to.not.have.property('chillfi3_user_id');
    expect((await record(account.id, { localUserId: 41 })).status).to.equal(204);
    const refreshed = await oidc.refreshTokenGrant(home.client, first.tokens.refresh_token as string);
    expect(decodeJwt(refreshed.access_token)).to.include({ chillfi3_user_id: 41 });
    expect(await server.services.instances.accessOf(home.instance.id, account.id)).to.include({ localUserId: 41, role: 'member' });
  });

  it('refuses an id another account of the instance holds (409), and takes the same id again', async function () {
    const account = await addAccount(server, 'hank');
    await codeFlow(home.client, { username: 'hank' });
    const clash = await record(account.id, { localUserId: 41 });
    expect(clash.status).to.equal(409);
    expect(clash.body.detail).to.match(/another account/);
    expect((await record(account.id, { localUserId: 42 })).status).to.equal(204);
    expect((await record(account.id, { localUserId: 42 })).status).to.equal(204);
  });

  it('knows only accounts with access to the instance (404), and is no business of a user token (403)', async function () {
    const stranger = await addAccount(server, 'ivy');
    expect((await record(stranger.id, { localUserId: 50 })).status).to.equal(404);
    const own = await addAccount(server, 'jack');
    const signedIn = await codeFlow(home.client, { username: 'jack' });
    expect((await record(own.id, { localUserId: 51 }, signedIn.tokens.access_token)).status).to.equal(403);
  });

  it('takes only a positive 32-bit integer', async function () {
    const account = await addAccount(server, 'kate');
    await codeFlow(home.client, { username: 'kate' });
    for (const body of [{ localUserId: 0 }, { localUserId: '7' }, { localUserId: 2 ** 31 }, {}, { localUserId: 7, role: 'admin' }]) {
      expect((await record(account.id, body)).status, JSON.stringify(body)).to.equal(400);
    }
  });
});
