// Enrolment tokens through the admin API: issued with their terms (shown once, answers as the OpenAPI document says),
// listed without the token, withdrawn; bad terms refused with a problem, never a 5xx.
import { expect } from 'chai';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../../src/instances/instance-store.js';
import { addAccount, addInstance, codeFlow } from '../support/fixtures.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { tokensWithoutAdminPower } from '../support/other-tokens.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`admin API: enrolment tokens (${backend})`, function () {
    let server: TestServer;
    let openApi: OpenApiCheck;
    let adminToken: string;

    before(async function () {
      server = await startTestServer(backend);
      const console_ = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      openApi = new OpenApiCheck((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument);
      await addAccount(server, 'root', { isAdmin: true });
      adminToken = (await codeFlow(console_.client, { username: 'root', scope: `openid profile ${ADMIN_SCOPE}` })).tokens.access_token;
    });
    after(() => server.close());

    async function api(method: string, path: string, body?: unknown): Promise<Answer> {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      openApi.check(method, response.url, response.status, response.headers.get('content-type'), text);
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    }

    it('issues a token with its terms, lists it without the token, and the token registers an instance so named', async function () {
      const issued = await api('POST', '/admin/enrollment-tokens', { ttlSeconds: 600, name: 'Named by the admin', accessPolicy: 'invite', allowAdmin: true });
      expect(issued.status).to.equal(201);
      expect(issued.body).to.include({ registrationEndpoint: `${server.issuer}/reg`, name: 'Named by the admin', accessPolicy: 'invite', allowAdmin: true });
      const listed = await api('GET', '/admin/enrollment-tokens');
      expect(JSON.stringify(listed.body)).to.include(issued.body.id as string).and.not.include(issued.body.token as string);
      const audit = await server.services.audit.query({ actions: ['instance.enrolment_token_issued'] });
      expect(audit.events[0]?.details).to.include({ enrolment_token: issued.body.id as string, via: 'api' });
      expect(JSON.stringify(audit.events)).to.not.include(issued.body.token as string);

      const registered = await fetch(issued.body.registrationEndpoint as string, {
        method: 'POST',
        headers: { authorization: `Bearer ${issued.body.token as string}`, 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://music.example/cb'], scope: 'openid admin' }),
      });
      expect(registered.status).to.equal(201);
      const { client_id: clientId } = (await registered.json()) as { client_id: string };
      expect(await server.services.instances.findByClientId(clientId)).to.include({ name: 'Named by the admin', accessPolicy: 'invite', scopes: 'openid admin' });
    });

    it('withdraws an unused token; a second withdrawal, or of an unknown id, is a 404', async function () {
      const issued = await api('POST', '/admin/enrollment-tokens', {});
      expect(issued.status).to.equal(201);
      expect((await api('DELETE', `/admin/enrollment-tokens/${issued.body.id as string}`)).status).to.equal(204);
      expect((await api('DELETE', `/admin/enrollment-tokens/${issued.body.id as string}`)).status).to.equal(404);
      expect((await api('DELETE', '/admin/enrollment-tokens/nothing%00here')).status).to.equal(404);
      expect(await server.services.enrolmentTokens.live(issued.body.token as string)).to.equal(null);
    });

    it('issues, lists and withdraws nothing for any other kind of token: 403, the tokens as they were', async function () {
      const issued = await api('POST', '/admin/enrollment-tokens', {});
      expect(issued.status).to.equal(201);
      const before = (await api('GET', '/admin/enrollment-tokens')).body;
      for (const [kind, token] of Object.entries(await tokensWithoutAdminPower(server, backend.replace('+', '-')))) {
        const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const tries = [
          fetch(`${server.url}/admin/enrollment-tokens`, { method: 'POST', headers, body: JSON.stringify({}) }),
          fetch(`${server.url}/admin/enrollment-tokens`, { headers }),
          fetch(`${server.url}/admin/enrollment-tokens/${issued.body.id as string}`, { method: 'DELETE', headers }),
        ];
        for (const response of await Promise.all(tries)) expect(response.status, `${response.url} with ${kind}`).to.equal(403);
      }
      expect((await api('GET', '/admin/enrollment-tokens')).body).to.deep.equal(before);
    });

    it('refuses bad terms with a 400 problem', async function () {
      for (const body of [{ ttlSeconds: 10 }, { ttlSeconds: 99_999_999 }, { accessPolicy: 'everyone' }, { name: 'n'.repeat(101) }, { unknown: true }]) {
        const answer = await api('POST', '/admin/enrollment-tokens', body);
        expect(answer.status, JSON.stringify(body)).to.equal(400);
      }
    });
  });
}
