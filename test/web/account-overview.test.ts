// The servers the account page lists as usable (src/web/account-overview.ts) agree with who may sign in where
// (src/provider/instance-access-check.ts): open ones, invite-only ones with access, and for a server admin every one,
// as admin where they have no role of their own. On every store set-up.
import { expect } from 'chai';
import { accountOverview } from '../../src/web/account-overview.js';
import { addAccount, addInstance } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

for (const backend of BACKENDS) {
  describe(`account page: the servers one can use (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server?.close());

    it('lists invite-only servers to a server admin, as admin unless they have a role there; to others only with access', async function () {
      await addInstance(server, { name: 'Open Music' });
      const closed = await addInstance(server, { name: 'Closed Club', accessPolicy: 'invite' });
      const family = await addInstance(server, { name: 'Family Music', accessPolicy: 'invite' });
      const admin = await addAccount(server, 'overview-admin', { isAdmin: true });
      const member = await addAccount(server, 'overview-member');
      await server.services.instances.grantAccess(family.instance.id, admin.id, 'member');
      await server.services.instances.grantAccess(family.instance.id, member.id, 'member');

      const rolesOf = async (account: typeof admin) =>
        Object.fromEntries((await accountOverview(server.services, account, '')).instances.map(({ name, role }) => [name, role]));
      expect(await rolesOf(admin)).to.deep.include({ 'Open Music': 'member', 'Closed Club': 'admin', 'Family Music': 'member' });
      const memberRoles = await rolesOf(member);
      expect(memberRoles).to.deep.include({ 'Open Music': 'member', 'Family Music': 'member' });
      expect(memberRoles).to.not.have.property(closed.instance.name);
    });
  });
}
