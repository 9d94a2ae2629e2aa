// Writing an import in bulk: the new accounts of a plan go in batches of one transaction each, and a batch the database
// refuses as a whole (here, a username someone took between the plan and the write) is written again row by row, so
// that only that row fails and is reported, and the rest are created with their access and audit entries once.
import { expect } from 'chai';
import { AccountEntity } from '../../src/accounts/account-entity.js';
import { applyImport } from '../../src/import/apply-import.js';
import { NO_MAPPING } from '../../src/import/import-mapping.js';
import { planImport } from '../../src/import/import-plan.js';
import { loadImportState, namesOf } from '../../src/import/import-state.js';
import { addInstance } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR = { accountId: null, via: 'cli' as const, osUser: 'tester' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`import: bulk writes (${backend})`, function () {
    this.timeout(60_000);
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server?.close());

    it('writes a refused batch row by row: only the row whose username was taken meanwhile fails', async function () {
      const { dataSource, accounts, instances, audit } = server.services;
      const { instance } = await addInstance(server);
      const rows = Array.from({ length: 130 }, (_, index) => ({ id: index + 1, username: `bulk-${index + 1}`, password: null, is_admin: 0 }));
      const plan = planImport(rows, await loadImportState(dataSource, instance.id, namesOf(rows, NO_MAPPING)), { mapping: NO_MAPPING });
      expect(plan.every((step) => step.kind === 'create')).to.equal(true);
      // Between the plan and the write, someone registers one of the usernames.
      await accounts.create({ username: 'BULK-77', passwordHash: null });

      const target = { dataSource, accounts, instances, audit, instanceId: instance.id, actor: OPERATOR };
      const applied = await applyImport(plan, target);
      const failed = applied.filter((step) => 'failed' in step && step.failed !== undefined);
      expect(failed.map((step) => (step.kind === 'create' ? step.user.username : null))).to.deep.equal(['bulk-77']);
      expect(failed[0]).to.have.property('failed').that.matches(/is taken/);
      const created = applied.flatMap((step) => ('accountId' in step && step.accountId ? [step.accountId] : []));
      expect(created).to.have.length(129);
      const links = await instances.listAccess({ instanceId: instance.id });
      expect(links.map((link) => link.accountId).sort()).to.deep.equal([...created].sort());
      const entries = await audit.query({ instanceId: instance.id, actions: ['account.created'], limit: 500 });
      expect(entries.events).to.have.length(129);

      // Again, with the state as it now is: every created row is skipped, the taken one is a clash, nothing is written.
      const again = planImport(rows, await loadImportState(dataSource, instance.id, namesOf(rows, NO_MAPPING)), { mapping: NO_MAPPING });
      expect(again.filter((step) => step.kind === 'skip')).to.have.length(129);
      expect(again.filter((step) => step.kind === 'clash')).to.have.length(1);
      const before = await dataSource.getRepository(AccountEntity).count();
      await applyImport(again, target);
      expect(await dataSource.getRepository(AccountEntity).count()).to.equal(before);
    });
  });
}
