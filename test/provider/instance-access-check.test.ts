// Who may sign in to an invite-only instance (src/provider/instance-access-check.ts): accounts given access there, and
// server admins, who are admin wherever they have no role of their own (src/provider/instance-claims.ts). On every
// store set-up: the check reads the account and its access from the database.
import { expect } from 'chai';
import { addAccount, addInstance, codeFlow, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

for (const backend of BACKENDS) {
  describe(`provider: access to an invite-only instance (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server?.close());

    it('lets a server admin without a role there sign in, as admin', async function () {
      await addAccount(server, 'root-admin', { isAdmin: true });
      const { client } = await addInstance(server, { accessPolicy: 'invite' });
      const { tokens } = await codeFlow(client, { username: 'root-admin' });
      expect(tokens.claims()).to.include({ chillfi3_role: 'admin' });
    });

    it('gives a server admin with a role of their own there that role', async function () {
      const account = await addAccount(server, 'admin-member', { isAdmin: true });
      const { instance, client } = await addInstance(server, { accessPolicy: 'invite' });
      await server.services.instances.grantAccess(instance.id, account.id, 'member', 7);
      const { tokens } = await codeFlow(client, { username: 'admin-member' });
      expect(tokens.claims()).to.include({ chillfi3_role: 'member', chillfi3_user_id: 7 });
    });

    it('still sends an account that is no server admin and has no access back with access_denied', async function () {
      await addAccount(server, 'outsider');
      const { client } = await addInstance(server, { accessPolicy: 'invite' });
      const { page, agent } = await openLoginPage(client);
      const denied = await agent.signIn(page, 'outsider', PASSWORD, REDIRECT_URI);
      expect(new URL(denied.url).searchParams.get('error')).to.equal('access_denied');
    });
  });
}
