// Second factors for admins, every way in: the admin API (list, reset; an instance's mfa policy; OpenAPI), the CLI
// (users mfa list|reset, instances update --mfa), and MFA_REQUIRED_FOR_ADMINS on tokens with the admin scope.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../../src/instances/instance-store.js';
import { BrowserAgent, hiddenInputs } from '../support/browser-agent.js';
import { cliJson } from '../support/cli.js';
import { addAccount, addInstance, authorizationRequest, codeFlow, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { enrolTotp, submitForm, TestClock, totpCode } from '../support/mfa.js';
import { OpenApiCheck, type OpenApiDocument } from '../support/openapi-check.js';
import { tokensWithoutAdminPower } from '../support/other-tokens.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const ADMIN_TOKEN_SCOPE = `openid profile ${ADMIN_SCOPE}`;

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  const tag = backend.replace('+', '-');
  describe(`second factors for admins (${backend})`, function () {
    this.timeout(30_000);
    let server: TestServer;
    let openApi: OpenApiCheck;
    let adminToken: string;

    before(async function () {
      server = await startTestServer(backend);
      openApi = new OpenApiCheck((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument);
      const console_ = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      await addAccount(server, `root-${tag}`, { isAdmin: true });
      adminToken = (await codeFlow(console_.client, { username: `root-${tag}`, scope: ADMIN_TOKEN_SCOPE })).tokens.access_token;
    });
    after(() => server.close());

    async function api(method: string, path: string, body?: unknown) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      openApi.check(method, response.url, response.status, response.headers.get('content-type'), text);
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    }

    it("lists a user's factors without their secrets, and resets them: sessions end, audited", async function () {
      const account = await addAccount(server, `lost-phone-${tag}`);
      const secret = await enrolTotp(server, account);
      const [code] = await server.services.secondFactors.recoveryCodes.generate(account.id);
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const step = await agent.signIn(await agent.open((await authorizationRequest(client)).url, {}, REDIRECT_URI), account.username, PASSWORD, REDIRECT_URI);
      const used = await submitForm(agent, step, { code: code! }, REDIRECT_URI, '/factor/recovery');
      expect((await submitForm(agent, used, {}, REDIRECT_URI)).status, 'signed in with a recovery code').to.equal(0);
      expect((await server.services.accountSessions.list(account.id)).length).to.equal(1);

      const listed = await api('GET', `/admin/users/${account.id}/mfa`);
      expect(listed.status).to.equal(200);
      expect(listed.body.factors).to.have.length(1);
      expect(JSON.stringify(listed.body)).to.not.contain(secret).and.not.contain('secret');

      const reset = await api('DELETE', `/admin/users/${account.id}/mfa`);
      expect(reset.status).to.equal(200);
      expect(reset.body).to.include({ removed: 1, sessions: 1 });
      expect((await server.services.accountSessions.list(account.id)).length, 'its sessions ended').to.equal(0);
      expect(await server.services.secondFactors.summary(account.id)).to.deep.equal({ factors: [], recoveryCodesLeft: 0 });
      expect(listed.body.recoveryCodesLeft).to.equal(9);
      const events = await server.services.audit.recent(5);
      expect(events.find((event) => event.action === 'mfa.reset')).to.include({ accountId: account.id });
      expect((await api('GET', '/admin/users/00000000-0000-0000-0000-000000000000/mfa')).status).to.equal(404);
      // Signs in with the password alone now.
      const { tokens } = await codeFlow(client, { username: account.username });
      expect(tokens.claims()?.acr).to.equal('pwd');
    });

    it('lists and resets nobody\'s factors with any other kind of token: 403, the factors kept', async function () {
      const target = await addAccount(server, `guarded-${tag}`);
      await enrolTotp(server, target);
      for (const [kind, token] of Object.entries(await tokensWithoutAdminPower(server, tag))) {
        for (const method of ['GET', 'DELETE']) {
          const response = await fetch(`${server.url}/admin/users/${target.id}/mfa`, { method, headers: { authorization: `Bearer ${token}` } });
          expect(response.status, `${method} with ${kind}`).to.equal(403);
        }
      }
      expect((await server.services.secondFactors.summary(target.id)).factors, 'nothing was reset').to.have.length(1);
    });

    it("sets an instance's mfa policy through the API, refusing a value it does not know", async function () {
      const created = await api('POST', '/admin/instances', { name: `Policy ${tag}`, redirectUris: [REDIRECT_URI], mfa: 'required-for-admins' });
      expect(created.status).to.equal(201);
      const instance = (created.body as { instance: { id: string; mfa: string } }).instance;
      expect(instance.mfa).to.equal('required-for-admins');
      expect((await api('PATCH', `/admin/instances/${instance.id}`, { mfa: 'sometimes' })).status).to.equal(400);
      const changed = await api('PATCH', `/admin/instances/${instance.id}`, { mfa: 'required' });
      expect((changed.body as { instance: { mfa: string } }).instance.mfa).to.equal('required');
      const listed = await api('GET', '/admin/instances');
      expect((listed.body as { instances: { mfa: string }[] }).instances.every((one) => typeof one.mfa === 'string')).to.equal(true);
    });

    it('lists and resets from the CLI, and sets the policy with instances update --mfa', async function () {
      const account = await addAccount(server, `shell-mfa-${tag}`);
      await enrolTotp(server, account);
      const listed = await cliJson<{ factors: { kind: string }[]; recoveryCodesLeft: number }>(server.env, ['users', 'mfa', 'list', account.username]);
      expect(listed.factors.map((factor) => factor.kind)).to.deep.equal(['totp']);
      const reset = await cliJson<{ removed: number }>(server.env, ['users', 'mfa', 'reset', account.username]);
      expect(reset.removed).to.equal(1);
      expect((await server.services.audit.recent(3)).find((event) => event.action === 'mfa.reset')?.details).to.include({ via: 'cli' });
      const { instance } = await addInstance(server);
      const updated = await cliJson<{ instance: { mfa: string } }>(server.env, ['instances', 'update', instance.id, '--mfa', 'required']);
      expect(updated.instance.mfa).to.equal('required');
    });
  });
}

describe('MFA_REQUIRED_FOR_ADMINS on the admin scope', function () {
  this.timeout(30_000);
  const clock = new TestClock();
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite', { MFA_REQUIRED_FOR_ADMINS: 'true' }, { clock: clock.read });
  });
  after(() => server.close());

  it('walks an admin through enrolment before a token with the admin scope, which then works at the admin API', async function () {
    await addAccount(server, 'root', { isAdmin: true });
    const { client } = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
    const agent = new BrowserAgent();
    const request = await authorizationRequest(client, ADMIN_TOKEN_SCOPE);
    const enrol = await agent.signIn(await agent.open(request.url, {}, REDIRECT_URI), 'root', PASSWORD, REDIRECT_URI);
    expect(enrol.body).to.contain('Set up an authenticator app');
    const secret = /class="totp-secret">([A-Z2-7]+)</.exec(enrol.body)![1]!;
    const codes = await submitForm(agent, enrol, { ...hiddenInputs(enrol.body), code: totpCode(secret, clock.now) }, REDIRECT_URI);
    const done = await submitForm(agent, codes, {}, REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(client, new URL(done.url), { pkceCodeVerifier: request.verifier, expectedState: request.state });
    expect(decodeJwt(tokens.access_token)).to.include({ acr: 'mfa' });
    const answer = await fetch(`${server.url}/admin/instances`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(answer.status).to.equal(200);
  });

  it('answers a token of the admin scope made without a second factor 401 insufficient_user_authentication (RFC 9470)', async function () {
    // A member's sign-in needs no second factor; made a server admin afterwards, the token it holds is not enough.
    const account = await addAccount(server, 'promoted');
    const { client } = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
    const { tokens } = await codeFlow(client, { username: 'promoted', scope: ADMIN_TOKEN_SCOPE });
    expect(decodeJwt(tokens.access_token)).to.include({ acr: 'pwd' });
    await server.services.accountOperations.setAdmin(account.id, true, { accountId: null, via: 'cli' });
    const answer = await fetch(`${server.url}/admin/instances`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(answer.status).to.equal(401);
    expect(answer.headers.get('www-authenticate')).to.contain('error="insufficient_user_authentication"').and.contain('acr_values="mfa"');
  });

  it('asks a member (no admin) nothing more than the password', async function () {
    await addAccount(server, 'member');
    const { client } = await addInstance(server);
    const { tokens } = await codeFlow(client, { username: 'member' });
    expect(tokens.claims()?.acr).to.equal('pwd');
  });
});
