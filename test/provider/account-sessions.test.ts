import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { addAccount, addInstance, codeFlow, openLoginPage } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`an account's sessions, listed and ended (${backend})`, function () {
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

    /** Signs `username` in on two instances through one browser session. */
    async function signedInTwice(username: string) {
      const account = await addAccount(server, username);
      const a = await addInstance(server, { name: `A for ${username}`, backchannelLogoutUri: receiver.url });
      const b = await addInstance(server, { name: `B for ${username}`, backchannelLogoutUri: receiver.url });
      const agent = new BrowserAgent();
      const onA = await codeFlow(a.client, { username, agent });
      const onB = await codeFlow(b.client, { agent });
      return { account, a, b, agent, onA, onB };
    }

    it('[provider-pin] lists the sessions of an account with the instances signed in through each', async function () {
      const { account, a, b } = await signedInTwice('lister');
      await codeFlow(a.client, { username: 'lister' });
      const sessions = await server.services.accountSessions.list(account.id);
      expect(sessions).to.have.length(2);
      const both = sessions.find((session) => session.clientIds.length === 2);
      expect(both?.clientIds).to.have.members([a.instance.clientId, b.instance.clientId]);
      expect(both?.signedInAt).to.be.a('number');
      expect(both?.uid).to.be.a('string');
      expect(await server.services.accountSessions.list('nobody')).to.deep.equal([]);
    });

    it('[provider-pin] ends every session: back-channel logout to each instance, tokens inactive, refresh refused, SSO gone', async function () {
      const { account, a, b, agent, onA, onB } = await signedInTwice('everywhere');
      const before = receiver.tokens.length;
      const ended = await server.services.accountSessions.endAll(account.id);
      expect(ended).to.deep.equal({ sessions: 1, grants: 2 });
      const logouts = receiver.tokens.slice(before).map((token) => decodeJwt(token));
      expect(logouts.map((claims) => [claims.aud, claims.sid, claims.sub])).to.have.deep.members([
        [a.instance.clientId, onA.tokens.claims()?.sid, account.id],
        [b.instance.clientId, onB.tokens.claims()?.sid, account.id],
      ]);
      expect((await oidc.tokenIntrospection(a.client, onA.tokens.access_token)).active).to.equal(false);
      expect((await oidc.tokenIntrospection(b.client, onB.tokens.refresh_token as string)).active).to.equal(false);
      let refused: unknown;
      await oidc.refreshTokenGrant(b.client, onB.tokens.refresh_token as string).catch((error: unknown) => (refused = error));
      expect(refused).to.have.property('error', 'invalid_grant');
      const { page } = await openLoginPage(a.client, agent);
      expect(page.body, 'the browser must sign in again').to.contain('name="password"');
      expect(await server.services.accountSessions.list(account.id)).to.deep.equal([]);
    });

    it('ends the session even when an instance cannot be told, and audits the failed delivery', async function () {
      const account = await addAccount(server, 'unreachable');
      const gone = await addInstance(server, { name: 'Gone', backchannelLogoutUri: 'http://127.0.0.1:9/backchannel' });
      const { tokens } = await codeFlow(gone.client, { username: 'unreachable' });
      expect(await server.services.accountSessions.endAll(account.id)).to.deep.equal({ sessions: 1, grants: 1 });
      expect((await oidc.tokenIntrospection(gone.client, tokens.access_token)).active).to.equal(false);
      const failures = (await server.services.audit.recent(20)).filter((event) => event.action === 'backchannel_logout');
      expect(failures.map((event) => [event.outcome, (event.details as { client_id?: string }).client_id])).to.deep.include([
        'failure',
        gone.instance.clientId,
      ]);
    });

    it('ends one session and leaves the others, or all but the one to keep', async function () {
      const { account, a, onA } = await signedInTwice('one-of-three');
      const second = await codeFlow(a.client, { username: 'one-of-three' });
      const third = await codeFlow(a.client, { username: 'one-of-three' });
      const sessions = await server.services.accountSessions.list(account.id);
      expect(sessions).to.have.length(3);
      const first = sessions.find((session) => session.clientIds.length === 2) as { uid: string };
      expect(await server.services.accountSessions.end(account.id, first.uid)).to.deep.equal({ sessions: 1, grants: 2 });
      expect(await server.services.accountSessions.end(account.id, first.uid)).to.equal(null);
      expect(await server.services.accountSessions.end('someone-else', sessions[0]?.uid as string)).to.equal(null);
      expect((await oidc.tokenIntrospection(a.client, onA.tokens.access_token)).active).to.equal(false);
      expect((await oidc.tokenIntrospection(a.client, second.tokens.access_token)).active).to.equal(true);

      const left = await server.services.accountSessions.list(account.id);
      const keep = left.find((session) => session.uid !== undefined) as { uid: string };
      const ended = await server.services.accountSessions.endAll(account.id, { keepUid: keep.uid });
      expect(ended.sessions).to.equal(1);
      expect((await server.services.accountSessions.list(account.id)).map((session) => session.uid)).to.deep.equal([keep.uid]);
      const stillActive = await Promise.all(
        [second, third].map(async ({ tokens }) => (await oidc.tokenIntrospection(a.client, tokens.access_token)).active),
      );
      expect(stillActive.sort()).to.deep.equal([false, true]);
    });
  });
}
