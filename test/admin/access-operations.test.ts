import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Actor } from '../../src/admin/account-operations.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { addAccount, addInstance, authorizationRequest, codeFlow, REDIRECT_URI } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR: Actor = { accountId: null, via: 'cli' };

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`per-instance access (${backend})`, function () {
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof backchannelReceiver>>;
    before(async function () {
      server = await startTestServer(backend);
      receiver = await backchannelReceiver();
    });
    after(async function () {
      receiver.server.close();
      await server.close();
    });

    const access = () => server.services.accessOperations;

    /** Where an authorization request of `client` in `agent`'s session ends up, back at the instance. */
    async function authorize(client: oidc.Configuration, agent: BrowserAgent): Promise<URL> {
      const page = await agent.open((await authorizationRequest(client, 'openid')).url, {}, REDIRECT_URI);
      expect(page.status, 'the SSO session answers without a page').to.equal(0);
      return new URL(page.url);
    }

    it('sends an SSO session that meets an invite-only instance it has no access to back with access_denied, audited', async function () {
      const account = await addAccount(server, 'outsider');
      const open = await addInstance(server, { name: 'Open' });
      const invite = await addInstance(server, { name: 'Invite', accessPolicy: 'invite' });
      const agent = new BrowserAgent();
      await codeFlow(open.client, { username: 'outsider', agent });
      const refused = await authorize(invite.client, agent);
      expect(refused.searchParams.get('error')).to.equal('access_denied');
      const [event] = await server.services.audit.recent(1, account.id);
      expect(event).to.include({ action: 'login.denied', outcome: 'failure' });

      await access().grant(invite.instance.id, account.id, 'admin', 42, OPERATOR);
      const { tokens } = await codeFlow(invite.client, { agent });
      expect(decodeJwt(tokens.access_token)).to.include({ chillfi3_role: 'admin', chillfi3_user_id: 42 });
      const userinfo = await oidc.fetchUserInfo(invite.client, tokens.access_token, account.id);
      expect(userinfo).to.include({ chillfi3_role: 'admin', chillfi3_user_id: 42 });
    });

    it('links an account to an open instance as a member at its first sign-in', async function () {
      const account = await addAccount(server, 'newcomer');
      const open = await addInstance(server, { name: 'Open (first sign-in)' });
      expect(await access().list({ instanceId: open.instance.id })).to.deep.equal([]);
      await codeFlow(open.client, { username: 'newcomer' });
      await codeFlow(open.client, { username: 'newcomer' });
      const links = await access().list({ accountId: account.id });
      expect(links.map(({ instanceId, role, localUserId }) => ({ instanceId, role, localUserId }))).to.deep.equal([
        { instanceId: open.instance.id, role: 'member', localUserId: null },
      ]);
    });

    it('changes the role and local id that new tokens carry', async function () {
      const account = await addAccount(server, 'changing');
      const invite = await addInstance(server, { accessPolicy: 'invite' });
      await access().grant(invite.instance.id, account.id, 'member', null, OPERATOR);
      const { tokens } = await codeFlow(invite.client, { username: 'changing' });
      expect(decodeJwt(tokens.access_token)).to.include({ chillfi3_role: 'member' }).and.not.have.property('chillfi3_user_id');
      const changed = await access().change(invite.instance.id, account.id, { role: 'admin', localUserId: 7 }, OPERATOR);
      expect(changed).to.include({ role: 'admin', localUserId: 7 });
      const refreshed = await oidc.refreshTokenGrant(invite.client, tokens.refresh_token as string);
      expect(decodeJwt(refreshed.access_token)).to.include({ chillfi3_role: 'admin', chillfi3_user_id: 7 });
    });

    it('takes access away: that instance is told and its tokens die, the others stay signed in', async function () {
      const account = await addAccount(server, 'removed');
      const kept = await addInstance(server, { name: 'Kept', backchannelLogoutUri: receiver.url });
      const invite = await addInstance(server, { name: 'Invite (taken away)', accessPolicy: 'invite', backchannelLogoutUri: receiver.url });
      await access().grant(invite.instance.id, account.id, 'member', 3, OPERATOR);
      const agent = new BrowserAgent();
      const onKept = await codeFlow(kept.client, { username: 'removed', agent });
      const onInvite = await codeFlow(invite.client, { agent });
      const logouts = receiver.tokens.length;
      await access().revoke(invite.instance.id, account.id, OPERATOR);
      expect(receiver.tokens.slice(logouts).map((token) => decodeJwt(token).aud)).to.deep.equal([invite.instance.clientId]);
      expect((await oidc.tokenIntrospection(invite.client, onInvite.tokens.access_token)).active).to.equal(false);
      expect((await oidc.tokenIntrospection(invite.client, onInvite.tokens.refresh_token as string)).active).to.equal(false);
      expect((await oidc.tokenIntrospection(kept.client, onKept.tokens.access_token)).active).to.equal(true);
      expect((await authorize(invite.client, agent)).searchParams.get('error')).to.equal('access_denied');
      expect((await authorize(kept.client, agent)).searchParams.has('code')).to.equal(true);
      await access().revoke(invite.instance.id, account.id, OPERATOR).then(
        () => expect.fail('revoked twice'),
        (error: Error & { status?: number }) => expect(error.status).to.equal(404),
      );
    });

    it('refuses unknown accounts and instances, bad roles and local ids', async function () {
      const account = await addAccount(server, 'validated');
      const { instance } = await addInstance(server);
      const refusals: [() => Promise<unknown>, number][] = [
        [() => access().grant('no-such-instance', account.id, 'member', null, OPERATOR), 404],
        [() => access().grant(instance.id, 'no-such-account', 'member', null, OPERATOR), 404],
        [() => access().grant(instance.id, 'nul\0id', 'member', null, OPERATOR), 404],
        [() => access().grant(instance.id, account.id, 'owner' as 'admin', null, OPERATOR), 400],
        [() => access().grant(instance.id, account.id, 'member', 0, OPERATOR), 400],
        [() => access().grant(instance.id, account.id, 'member', 1.5, OPERATOR), 400],
        [() => access().change(instance.id, account.id, { role: 'admin' }, OPERATOR), 404],
      ];
      for (const [attempt, status] of refusals) {
        await attempt().then(
          () => expect.fail('accepted'),
          (error: Error & { status?: number }) => expect(error.status, error.message).to.equal(status),
        );
      }
    });
  });
}
