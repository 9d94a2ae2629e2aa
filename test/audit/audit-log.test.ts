// Reading the audit trail a page at a time (every entry exactly once, even while entries are written), each filter,
// and retention (exactly the entries past it are pruned, now and by the server's timer).
import { expect } from 'chai';
import type { AuditEvent } from '../../src/audit/audit-event-entity.js';
import { AuditEventEntity } from '../../src/audit/audit-event-entity.js';
import { type AuditFilter, type AuditLog, PRUNE_BATCH } from '../../src/audit/audit-log.js';
import { AuditRetention } from '../../src/audit/audit-retention.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const DAY_MS = 86_400_000;

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`audit log: pages, filters, retention (${backend})`, function () {
    let server: TestServer;
    let audit: AuditLog;
    beforeEach(async function () {
      server = await startTestServer(backend);
      audit = server.services.audit;
    });
    afterEach(() => server?.close());

    /** Every page of the query, in order. */
    async function allPages(filter: AuditFilter, limit: number, between: () => Promise<void> = async () => {}): Promise<AuditEvent[]> {
      const events: AuditEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.query({ ...filter, limit, cursor });
        expect(page.events.length).to.be.at.most(limit);
        events.push(...page.events);
        cursor = page.nextCursor ?? undefined;
        await between();
      } while (cursor);
      return events;
    }

    /** Entries stamped `daysAgo` days back, as if written then, all in the same millisecond. */
    async function writtenDaysAgo(daysAgo: number, count: number, extra: Partial<AuditEvent> = {}): Promise<string[]> {
      const at = new Date(Date.now() - daysAgo * DAY_MS);
      const rows = Array.from({ length: count }, (_, index) => ({
        id: `old-${daysAgo}-${index}-${Math.random().toString(36).slice(2, 10)}`,
        at,
        action: 'login',
        outcome: 'success' as const,
        accountId: null,
        instanceId: null,
        ip: null,
        userAgent: null,
        details: null,
        ...extra,
      }));
      // In steps: SQLite takes at most 999 parameters in one statement.
      for (let from = 0; from < rows.length; from += 50) await server.services.dataSource.getRepository(AuditEventEntity).insert(rows.slice(from, from + 50));
      return rows.map((row) => row.id);
    }

    it('returns every entry exactly once across pages, newest first, while entries are being written', async function () {
      for (let index = 0; index < 60; index++) await audit.record({ action: 'login', outcome: 'success', details: { n: index } });
      const before = (await audit.query({ limit: 500 })).events.map((event) => event.id);
      let written = 0;
      const seen = await allPages({}, 7, async () => {
        await Promise.all(Array.from({ length: 3 }, () => audit.record({ action: 'login', outcome: 'failure', details: { during: written++ } })));
      });

      const ids = seen.map((event) => event.id);
      expect(new Set(ids).size, 'no entry twice').to.equal(ids.length);
      expect(ids).to.include.members(before);
      for (let index = 1; index < seen.length; index++) {
        const [newer, older] = [seen[index - 1] as AuditEvent, seen[index] as AuditEvent];
        expect(newer.at.getTime() > older.at.getTime() || (newer.at.getTime() === older.at.getTime() && newer.id > older.id)).to.equal(true);
      }
    });

    it('filters by account, instance, action (exact or prefix), outcome and time range', async function () {
      await audit.record({ action: 'login', outcome: 'success', accountId: 'acct-a', instanceId: 'inst-1' });
      await audit.record({ action: 'login', outcome: 'failure', accountId: 'acct-b', instanceId: 'inst-1' });
      await audit.record({ action: 'login.denied', outcome: 'failure', accountId: 'acct-a', instanceId: 'inst-2' });
      await audit.record({ action: 'token.issued', outcome: 'success', instanceId: 'inst-2' });
      await audit.record({ action: 'token.reuse_detected', outcome: 'failure', accountId: 'acct-a', instanceId: 'inst-2' });
      await writtenDaysAgo(3, 1);
      const actions = async (filter: AuditFilter) => (await allPages(filter, 2)).map((event) => event.action).reverse();

      expect(await actions({ accountId: 'acct-a' })).to.deep.equal(['login', 'login.denied', 'token.reuse_detected']);
      expect(await actions({ instanceId: 'inst-1' })).to.deep.equal(['login', 'login']);
      expect(await actions({ actions: ['login'], since: new Date(Date.now() - DAY_MS) })).to.deep.equal(['login', 'login']);
      expect(await actions({ actions: ['login.*'] })).to.deep.equal(['login.denied']);
      expect(await actions({ actions: ['token.*', 'login.denied'] })).to.deep.equal(['login.denied', 'token.issued', 'token.reuse_detected']);
      // `_` is a LIKE wildcard: a prefix is matched literally.
      expect(await actions({ actions: ['token_*'] })).to.deep.equal([]);
      expect(await actions({ outcome: 'failure' })).to.deep.equal(['login', 'login.denied', 'token.reuse_detected']);
      expect(await actions({ until: new Date(Date.now() - DAY_MS) })).to.deep.equal(['login']);
      expect(await actions({ since: new Date(Date.now() - 4 * DAY_MS), until: new Date(Date.now() - 2 * DAY_MS) })).to.deep.equal(['login']);
    });

    it('pages through entries of one millisecond by id, with each filter, every entry once', async function () {
      const at = new Date(Date.now() - 2 * DAY_MS);
      const ofInstance = await writtenDaysAgo(2, 23, { at, instanceId: 'inst-same', action: 'token.issued' });
      const failures = await writtenDaysAgo(2, 17, { at, instanceId: 'inst-same', action: 'login', outcome: 'failure', accountId: 'acct-same' });
      await writtenDaysAgo(3, 5, { instanceId: 'inst-same', action: 'key.staged' });
      const descending = (ids: string[]) => [...ids].sort().reverse();
      const ids = async (filter: AuditFilter) => (await allPages(filter, 4)).map((event) => event.id);

      expect(await ids({ instanceId: 'inst-same', since: new Date(Date.now() - 2.5 * DAY_MS) })).to.deep.equal(descending([...ofInstance, ...failures]));
      expect(await ids({ instanceId: 'inst-same', outcome: 'failure' })).to.deep.equal(descending(failures));
      expect(await ids({ accountId: 'acct-same' })).to.deep.equal(descending(failures));
      expect(await ids({ actions: ['token.issued'] })).to.deep.equal(descending(ofInstance));
      expect(await ids({ actions: ['key.*'] })).to.have.length(5);
      expect(await ids({ actions: ['token.*', 'login'], instanceId: 'inst-same' })).to.deep.equal(descending([...ofInstance, ...failures]));
    });

    it('filters by one detail, matched exactly (a lockout among failed sign-ins)', async function () {
      await audit.record({ action: 'login', outcome: 'failure', accountId: 'acct-a', details: { reason: 'invalid_credentials' } });
      await audit.record({ action: 'login', outcome: 'failure', accountId: 'acct-b', details: { reason: 'locked', client_id: 'c1' } });
      await audit.record({ action: 'login', outcome: 'failure', accountId: 'acct-c', details: { reason: 'locked_out_100%' } });
      const lockouts = await audit.query({ actions: ['login'], detail: { key: 'reason', value: 'locked' } });
      expect(lockouts.events.map((event) => event.accountId)).to.deep.equal(['acct-b']);
      expect((await audit.query({ detail: { key: 'reason', value: 'locked_out_100%' } })).events.map((event) => event.accountId)).to.deep.equal(['acct-c']);
      expect((await audit.query({ detail: { key: 'reason', value: 'locked%' } })).events, "LIKE's wildcards are taken literally").to.deep.equal([]);
    });

    it('refuses a page size out of bounds and a cursor it did not make', async function () {
      for (const limit of [0, 501, 1.5]) {
        await audit.query({ limit }).then(
          () => expect.fail(`limit ${limit} was accepted`),
          (error: unknown) => expect(error).to.have.property('status', 400),
        );
      }
      await audit.query({ cursor: 'not-a-cursor' }).then(
        () => expect.fail('a made-up cursor was accepted'),
        (error: unknown) => expect(error).to.have.property('status', 400),
      );
    });

    it('prunes exactly the entries older than the retention, and keeps everything at 0 days', async function () {
      const old = await writtenDaysAgo(31, 3);
      const kept = [...(await writtenDaysAgo(29, 2))];
      await audit.record({ action: 'login', outcome: 'success' });

      expect(await new AuditRetention(audit, 0).pruneNow()).to.equal(0);
      expect(await new AuditRetention(audit, 30).pruneNow()).to.equal(old.length);
      const left = (await audit.query({ limit: 500 })).events.map((event) => event.id);
      expect(left).to.include.members(kept).and.have.length(kept.length + 1);
      expect(left).to.not.include.any.members(old);
    });

    it('prunes a backlog in batches, oldest first, saying how far it got after each', async function () {
      // Three batches' worth, all in one millisecond: each batch starts where the last one ended, by id.
      const old = await writtenDaysAgo(40, 2 * PRUNE_BATCH + 7);
      const kept = await writtenDaysAgo(10, 3);
      const progress: number[] = [];
      expect(await new AuditRetention(audit, 30).pruneNow(new Date(), (deleted) => progress.push(deleted))).to.equal(old.length);
      expect(progress).to.deep.equal([PRUNE_BATCH, 2 * PRUNE_BATCH, old.length]);
      expect((await audit.query({ limit: 500 })).events.map((event) => event.id)).to.have.members(kept);
    });

    it('reports what a periodic prune deleted', async function () {
      const old = await writtenDaysAgo(400, 4);
      const reported: number[] = [];
      const retention = new AuditRetention(audit, 365, { everyMs: 20, onPruned: (deleted) => reported.push(deleted) }).start();
      try {
        for (let tries = 0; tries < 100 && reported.length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        await retention.stop();
      }
      expect(reported).to.deep.equal([old.length]);
    });

    it('prunes on its timer until stopped', async function () {
      const old = await writtenDaysAgo(400, 2);
      const retention = new AuditRetention(audit, 365, { everyMs: 20 }).start();
      try {
        for (let tries = 0; tries < 100 && (await audit.query({ limit: 500 })).events.length > 0; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await retention.stop();
      }
      expect((await audit.query({ limit: 500 })).events.map((event) => event.id)).to.not.include.any.members(old);
    });
  });
}
