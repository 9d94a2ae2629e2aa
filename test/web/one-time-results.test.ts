// The store of what a console action shows once (src/web/one-time-results.ts), on every store set-up: what one node
// keeps another node reads, only for the session and page it was kept for, and the stored record holds the value only
// sealed.
import { expect } from 'chai';
import type { Account } from '../../src/accounts/account-entity.js';
import { CONSOLE_RESULT_MODEL, OneTimeResults } from '../../src/web/one-time-results.js';
import type { Viewer } from '../../src/web/web-session.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

function viewer(accountId: string, sessionUid: string): Viewer {
  return { account: { id: accountId } as Account, sessionUid, authTime: 0, acr: undefined };
}

for (const backend of BACKENDS) {
  describe(`one-time results (${backend})`, function () {
    this.timeout(30_000);
    let first: TestServer;
    let second: TestServer;

    before(async function () {
      first = await startTestServer(backend);
      second = await startTestServer(backend, {}, { join: first });
    });
    after(async function () {
      await second?.close();
      await first?.close();
    });

    const resultsOn = (node: TestServer) => new OneTimeResults(node.services.oidcStore, node.services.secrets);
    const shown = { heading: 'New secret for Kitchen', clientSecret: 'the-secret-value-0123456789' };

    it('is read on another node by the session that kept it, for the page it was kept for, and by nobody else', async function () {
      const admin = viewer('admin-1', 'session-1');
      const id = await resultsOn(first).keep(admin, 'instance:a', shown);
      const elsewhere = resultsOn(second);
      expect(await elsewhere.read(admin, 'instance:a', id), 'another node, a reload').to.deep.equal(shown);
      expect(await elsewhere.read(admin, 'instance:a', id), 'again').to.deep.equal(shown);
      expect(await elsewhere.read(viewer('admin-1', 'session-2'), 'instance:a', id), 'another session of the same admin').to.equal(null);
      expect(await elsewhere.read(viewer('admin-2', 'session-1'), 'instance:a', id), 'another account').to.equal(null);
      expect(await elsewhere.read(admin, 'instance:b', id), 'under another instance').to.equal(null);
      expect(await elsewhere.read(admin, 'instance:a', 'no-such-result-000000'), 'an unknown id').to.equal(null);
      expect(await elsewhere.read(admin, 'instance:a', 'nul\u0000id'), 'an id no store can hold').to.equal(null);
    });

    it('keeps the value sealed at rest', async function () {
      const id = await resultsOn(first).keep(viewer('admin-1', 'session-1'), 'instance:a', shown);
      const stored = await new first.services.oidcStore.Adapter(CONSOLE_RESULT_MODEL).find(id);
      expect(stored).to.be.an('object');
      expect(JSON.stringify(stored)).to.not.contain(shown.clientSecret).and.not.contain(shown.heading);
      expect(await first.services.secrets.open(stored?.sealed as string, `console-result:instance:a:${id}`)).to.equal(JSON.stringify(shown));
    });
  });
}
