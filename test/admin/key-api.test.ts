import { expect } from 'chai';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../../src/instances/instance-store.js';
import { addAccount, addInstance, codeFlow } from '../support/fixtures.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface KeyBody {
  kid: string;
  alg: string;
  state: string;
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`admin API: signing keys (${backend})`, function () {
    let server: TestServer;
    let openApi: OpenApiCheck;
    let adminToken: string;
    let memberToken: string;

    before(async function () {
      server = await startTestServer(backend, { AUTH_KEY_CHECK_INTERVAL: '1' });
      openApi = new OpenApiCheck((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument);
      const console_ = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      await addAccount(server, 'keeper', { isAdmin: true });
      await addAccount(server, 'member');
      const scope = `openid ${ADMIN_SCOPE}`;
      adminToken = (await codeFlow(console_.client, { username: 'keeper', scope })).tokens.access_token;
      memberToken = (await codeFlow(console_.client, { username: 'member', scope })).tokens.access_token;
    });
    after(() => server.close());

    /** Calls the API; every answer must be one the served OpenAPI document describes. */
    async function api(method: string, path: string, { token = adminToken, body }: { token?: string | null; body?: unknown } = {}) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      openApi.check(method, response.url, response.status, response.headers.get('content-type'), text);
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    }

    /** Whether the node publishes `kid` in its JWKS within a few of its key checks. */
    async function published(kid: string): Promise<boolean> {
      for (let attempt = 0; attempt < 40; attempt++) {
        const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] };
        if (jwks.keys.some((key) => key.kid === kid)) return true;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return false;
    }

    it('lists the keys, stages a rotation, refuses a second one and a bad algorithm, and withdraws it, audited', async function () {
      const listed = await api('GET', '/admin/keys');
      expect(listed.status).to.equal(200);
      const before = listed.body.keys as KeyBody[];
      expect(before.map(({ alg, state }) => `${alg} ${state}`).sort()).to.deep.equal(['ES256 active', 'RS256 active']);

      const staged = await api('POST', '/admin/keys/rotation', { body: { alg: 'ES256' } });
      expect(staged.status).to.equal(201);
      const [next] = staged.body.keys as KeyBody[];
      expect(next).to.include({ alg: 'ES256', state: 'next' });
      expect(await published(next?.kid as string), 'published before it signs').to.equal(true);

      expect((await api('POST', '/admin/keys/rotation', { body: { alg: 'ES256' } })).status).to.equal(409);
      expect((await api('POST', '/admin/keys/rotation', { body: { alg: 'HS256' } })).status).to.equal(400);
      expect((await api('POST', '/admin/keys/rotation', { body: { extra: true } })).status).to.equal(400);

      const withdrawn = await api('DELETE', `/admin/keys/${encodeURIComponent(next?.kid as string)}`);
      expect(withdrawn.status).to.equal(200);
      expect(withdrawn.body).to.deep.equal({ removed: true, activated: null });
      expect((await api('DELETE', '/admin/keys/no-such-key')).status).to.equal(404);
      const active = before.find((key) => key.alg === 'RS256') as KeyBody;
      expect((await api('DELETE', `/admin/keys/${encodeURIComponent(active.kid)}`)).status, 'nothing staged to take over').to.equal(409);

      const actions = (await server.services.audit.recent(10)).map((event) => [event.action, event.details?.kid]);
      expect(actions).to.deep.include.members([
        ['key.staged', next?.kid],
        ['key.removed', next?.kid],
      ]);
    });

    it('is for admins with the admin scope only', async function () {
      const keysBefore = await server.services.keys.list();
      expect((await api('GET', '/admin/keys', { token: null })).status).to.equal(401);
      expect((await api('GET', '/admin/keys', { token: memberToken })).status).to.equal(403);
      expect((await api('POST', '/admin/keys/rotation', { token: memberToken, body: {} })).status).to.equal(403);
      expect(await server.services.keys.list()).to.deep.equal(keysBefore);
    });
  });
}
