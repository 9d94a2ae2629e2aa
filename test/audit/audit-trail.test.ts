// Every authentication event lands in the audit trail after the real flow, with who, which instance, address and user
// agent: sign-in (ok, failed, locked), access denied, sign-out, tokens issued, refreshed and revoked, and reuse of a
// code or refresh token, sequential or raced.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { AuditEvent } from '../../src/audit/audit-event-entity.js';
import type { AuditFilter } from '../../src/audit/audit-log.js';
import { BrowserAgent, formAction, hiddenInputs } from '../support/browser-agent.js';
import { addAccount, addInstance, basicAuth, codeFlow, issueCode, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const USER_AGENT = 'audit-trail-test/1.0';
const RACERS = 20;

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`audit trail of authentication events (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend, { MAX_LOGIN_ATTEMPTS: '2' });
    });
    after(() => server?.close());

    /** The entries matching `filter`, oldest first, once every write under way has landed. */
    async function entries(filter: AuditFilter): Promise<AuditEvent[]> {
      await server.services.audit.flush();
      return (await server.services.audit.query({ ...filter, limit: 500 })).events.reverse();
    }
    const browser = () => new BrowserAgent({ 'user-agent': USER_AGENT });

    it('records sign-in ok, failed and locked, with the reason, the instance, the address and the user agent', async function () {
      const account = await addAccount(server, 'audit-signin');
      const { client, instance } = await addInstance(server);
      const attempt = async (password: string) => {
        const { page, agent } = await openLoginPage(client, browser());
        return (await agent.signIn(page, 'audit-signin', password, REDIRECT_URI)).status;
      };
      expect(await attempt(PASSWORD)).to.equal(0);
      expect(await attempt('wrong password')).to.equal(200);
      expect(await attempt('wrong password')).to.equal(200);
      expect(await attempt(PASSWORD), 'locked').to.equal(200);

      const logins = await entries({ accountId: account.id, actions: ['login'] });
      expect(logins.map((event) => [event.outcome, event.details?.reason ?? null])).to.deep.equal([
        ['success', null],
        ['failure', 'invalid_credentials'],
        ['failure', 'invalid_credentials'],
        ['failure', 'locked'],
      ]);
      for (const event of logins) {
        expect(event).to.include({ instanceId: instance.id, ip: '127.0.0.1', userAgent: USER_AGENT });
        expect(event.details).to.include({ client_id: instance.clientId });
      }
    });

    it('records access denied to an invite-only instance', async function () {
      const account = await addAccount(server, 'audit-denied');
      const { client, instance } = await addInstance(server, { accessPolicy: 'invite' });
      const { page, agent } = await openLoginPage(client, browser());
      const back = await agent.signIn(page, 'audit-denied', PASSWORD, REDIRECT_URI);
      expect(new URL(back.url).searchParams.get('error')).to.equal('access_denied');

      const [denied] = await entries({ accountId: account.id, actions: ['login.denied'] });
      expect(denied).to.include({ outcome: 'failure', instanceId: instance.id, ip: '127.0.0.1', userAgent: USER_AGENT });
    });

    it('records code and refresh issuance by grant type, and no instance service token (nothing is stored per one)', async function () {
      const account = await addAccount(server, 'audit-tokens');
      const { client, instance } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'audit-tokens', agent: browser() });
      await oidc.refreshTokenGrant(client, tokens.refresh_token!);
      await oidc.clientCredentialsGrant(client);
      // The same through the provider (a parameter the fast path leaves to it): not recorded either.
      await oidc.clientCredentialsGrant(client, { unrecognised: 'x' });

      const issued = await entries({ instanceId: instance.id, actions: ['token.*'] });
      expect(issued.map((event) => [event.action, event.details?.grant_type, event.accountId])).to.deep.equal([
        ['token.issued', 'authorization_code', account.id],
        ['token.refreshed', 'refresh_token', account.id],
      ]);
      for (const event of issued) {
        expect(event).to.include({ outcome: 'success', ip: '127.0.0.1' });
        expect(event.userAgent).to.be.a('string');
        expect(event.details).to.include({ client_id: instance.clientId });
      }
    });

    it('records revocation of a refresh token (and so its grant) and of a client_credentials token', async function () {
      const account = await addAccount(server, 'audit-revoke');
      const { client, instance } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'audit-revoke' });
      await oidc.tokenRevocation(client, tokens.refresh_token!);
      await oidc.tokenRevocation(client, (await oidc.clientCredentialsGrant(client)).access_token);

      const revoked = await entries({ instanceId: instance.id, actions: ['token.revoked', 'grant.revoked'] });
      expect(revoked.map((event) => [event.action, event.details?.token_type ?? event.details?.via, event.accountId])).to.deep.equal([
        ['token.revoked', 'refresh_token', account.id],
        ['grant.revoked', 'revocation', account.id],
        ['token.revoked', 'client_credentials', null],
      ]);
    });

    it('records sign-out, and the grants it ends', async function () {
      const account = await addAccount(server, 'audit-logout');
      const { client, instance } = await addInstance(server);
      const { agent, tokens } = await codeFlow(client, { username: 'audit-logout', agent: browser() });
      const confirm = await agent.open(oidc.buildEndSessionUrl(client, { id_token_hint: tokens.id_token! }).toString());
      await agent.open(new URL(formAction(confirm.body), confirm.url).toString(), { form: { ...hiddenInputs(confirm.body), logout: 'yes' } });

      const ended = await entries({ accountId: account.id, actions: ['logout', 'grant.revoked'] });
      expect(ended.map((event) => event.action)).to.have.members(['logout', 'grant.revoked']);
      for (const event of ended) expect(event).to.include({ instanceId: instance.id, ip: '127.0.0.1', userAgent: USER_AGENT });
    });

    it('[provider-pin] records reuse of a used refresh token and of a used code', async function () {
      const account = await addAccount(server, 'audit-reuse');
      const { client, instance, clientSecret } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'audit-reuse' });
      const successor = await oidc.refreshTokenGrant(client, tokens.refresh_token!);
      // Once its successor is used: a second use before that is a retry (test/provider/refresh-retry-grace.test.ts).
      await oidc.refreshTokenGrant(client, successor.refresh_token!);
      await oidc.refreshTokenGrant(client, tokens.refresh_token!).then(
        () => expect.fail('a used refresh token was accepted'),
        (error: unknown) => expect(error).to.have.property('error', 'invalid_grant'),
      );
      const { code, verifier } = await issueCode(client, { username: 'audit-reuse' });
      const redeem = () => tokenRequest(server, basicAuth(instance.clientId, clientSecret), { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
      expect((await redeem()).status).to.equal(200);
      expect((await redeem()).status).to.equal(400);

      const reuse = await entries({ instanceId: instance.id, actions: ['token.reuse_detected'] });
      expect(reuse.map((event) => [event.outcome, event.details?.grant_type, event.accountId])).to.deep.equal([
        ['failure', 'refresh_token', account.id],
        ['failure', 'authorization_code', account.id],
      ]);
      for (const event of reuse) expect(event.details?.grant_id).to.be.a('string');
    });

    it(`records a ${RACERS}-way race on one refresh token as reuse, against the grant the token belongs to`, async function () {
      const account = await addAccount(server, 'audit-race');
      const { client, instance, clientSecret } = await addInstance(server);
      const { tokens } = await codeFlow(client, { username: 'audit-race' });
      const [issued] = await entries({ instanceId: instance.id, actions: ['token.issued'] });
      const form = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! };
      const outcomes = await Promise.all(Array.from({ length: RACERS }, () => tokenRequest(server, basicAuth(instance.clientId, clientSecret), form)));
      expect(outcomes.filter((outcome) => outcome.status === 200)).to.have.length(1);

      // On PostgreSQL + Redis the racers that lose the race to consume are refused by the adapter, which revokes the
      // grant itself: without its signal this race leaves no reuse entry at all.
      const reuse = await entries({ instanceId: instance.id, actions: ['token.reuse_detected'] });
      expect(reuse).to.have.length.above(0);
      for (const event of reuse) {
        expect(event).to.include({ accountId: account.id, outcome: 'failure', ip: '127.0.0.1' });
        expect(event.details).to.include({ grant_type: 'refresh_token', grant_id: issued?.details?.grant_id, client_id: instance.clientId });
      }
    });
  });
}

async function tokenRequest(server: TestServer, authorization: string, form: Record<string, string>): Promise<{ status: number }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  await response.body?.cancel();
  return { status: response.status };
}
