import { expect } from 'chai';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, codeFlow } from '../support/fixtures.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { BrowserAgent, formAction, hiddenInputs } from '../support/browser-agent.js';

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`single sign-on sessions (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
      await addAccount(server, 'bob');
    });
    after(() => server.close());

    it('signs a second instance in without the password while the session lives', async function () {
      const a = await addInstance(server, { name: 'A' });
      const b = await addInstance(server, { name: 'B' });
      const { agent, tokens } = await codeFlow(a.client, { username: 'bob' });
      const second = await codeFlow(b.client, { agent });
      expect(second.tokens.claims()?.sub).to.equal(tokens.claims()?.sub);
      expect(decodeJwt(second.tokens.access_token).aud).to.equal(b.instance.clientId);
    });

    it('ends the session everywhere on sign-out: back-channel logout to every instance, tokens inactive', async function () {
      const receiver = await backchannelReceiver();
      try {
        const a = await addInstance(server, { name: 'A (sign-out)', backchannelLogoutUri: receiver.url });
        const b = await addInstance(server, { name: 'B (sign-out)', backchannelLogoutUri: receiver.url });
        const { agent, tokens } = await codeFlow(a.client, { username: 'bob' });
        const onB = await codeFlow(b.client, { agent });

        const endSession = oidc.buildEndSessionUrl(a.client, {
          id_token_hint: tokens.id_token!,
          post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out',
        });
        const confirm = await agent.open(endSession.toString());
        expect(confirm.body).to.contain('Sign out everywhere');
        const done = await agent.open(
          new URL(formAction(confirm.body), confirm.url).toString(),
          { form: { ...hiddenInputs(confirm.body), logout: 'yes' } },
          'http://127.0.0.1:9/signed-out',
        );
        expect(done.url).to.equal('http://127.0.0.1:9/signed-out');

        const audiences = receiver.tokens.map((token) => decodeJwt(token)).map((claims) => [claims.aud, claims.sid]);
        expect(audiences).to.deep.include.members([
          [a.instance.clientId, tokens.claims()?.sid],
          [b.instance.clientId, onB.tokens.claims()?.sid],
        ]);
        expect((await oidc.tokenIntrospection(a.client, tokens.access_token)).active).to.equal(false);
        expect((await oidc.tokenIntrospection(b.client, onB.tokens.access_token)).active).to.equal(false);
        expect((await oidc.tokenIntrospection(b.client, onB.tokens.refresh_token!)).active).to.equal(false);

        const again = await agent.open(
          oidc
            .buildAuthorizationUrl(a.client, {
              redirect_uri: 'http://127.0.0.1:9/callback',
              scope: 'openid',
              code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
              code_challenge_method: 'S256',
            })
            .toString(),
          {},
          'http://127.0.0.1:9/callback',
        );
        expect(again.body, 'the login page again').to.contain('name="password"');
      } finally {
        receiver.server.close();
      }
    });

    it('keeps a token for A away from B: B can neither introspect it as active nor revoke it', async function () {
      const a = await addInstance(server, { name: 'A (audience)' });
      const b = await addInstance(server, { name: 'B (audience)' });
      const { tokens } = await codeFlow(a.client, { username: 'bob', agent: new BrowserAgent() });
      expect((await oidc.tokenIntrospection(b.client, tokens.access_token)).active).to.equal(false);
      await oidc.tokenRevocation(b.client, tokens.access_token);
      expect((await oidc.tokenIntrospection(a.client, tokens.access_token)).active).to.equal(true);
    });
  });
}
