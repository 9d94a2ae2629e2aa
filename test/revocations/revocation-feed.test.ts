// The revocation feed's table stays within its retention (TOKEN_TTL + 5 minutes) even where no instance listens (then
// nothing polls, and the writers prune), on SQLite and PostgreSQL; events in the retention stay for Last-Event-ID.
import { expect } from 'chai';
import { RevocationEventEntity } from '../../src/revocations/revocation-event-entity.js';
import { RevocationFeed } from '../../src/revocations/revocation-feed.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`revocation feed retention (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server?.close());

    it('deletes what is older than the retention when a writer writes, and keeps the rest', async function () {
      const { revocations, dataSource, config } = server.services;
      const rows = dataSource.getRepository(RevocationEventEntity);
      await revocations.publish([{ clientId: 'old', type: 'secret.rotated' }, { clientId: 'recent', type: 'secret.rotated' }]);
      const [old] = await rows.findBy({ clientId: 'old' });
      await rows.update({ id: old!.id }, { at: new Date(Date.now() - (config.ttl.accessToken + 301) * 1000) });
      // Another writer (a node, the CLI) whose prune is due: its first write, then one a minute.
      const writer = new RevocationFeed(dataSource, { retentionSeconds: config.ttl.accessToken + 300 });
      await writer.publish([{ clientId: 'new', type: 'secret.rotated' }]);
      await writer.close();
      const left = (await rows.find()).map((row) => row.clientId);
      expect(left).to.include.members(['recent', 'new']).and.not.include('old');
      expect((await revocations.since('recent', 0)).map((event) => event.clientId)).to.deep.equal(['recent']);
    });
  });
}
