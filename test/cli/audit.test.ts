// `chillfi3-auth audit`: the trail of a live deployment from a shell, filtered, paged, followed and pruned.
import { userInfo } from 'node:os';
import { expect } from 'chai';
import { AuditEventEntity } from '../../src/audit/audit-event-entity.js';
import { cli, cliJson } from '../support/cli.js';
import { addAccount, addInstance, codeFlow, REDIRECT_URI } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface JsonPage {
  events: { id: string; action: string; accountId: string | null; instanceId: string | null }[];
  nextCursor: string | null;
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`audit command (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server?.close());

    const run = (...argv: string[]) => cli(server.env, argv);
    const json = <T>(...argv: string[]) => cliJson<T>(server.env, argv);

    it('lists what a sign-in wrote, filtered by username, client id, action and outcome, in lines or JSON', async function () {
      const account = await addAccount(server, 'cli-audit');
      const { client, instance } = await addInstance(server);
      await codeFlow(client, { username: 'cli-audit' });
      await server.services.audit.flush();

      const page = await json<JsonPage>('audit', '--user', 'cli-audit', '--instance', instance.clientId, '--action', 'login,token.*');
      expect(page.events.map((event) => event.action)).to.deep.equal(['token.issued', 'login']);
      expect(page.events.every((event) => event.accountId === account.id && event.instanceId === instance.id)).to.equal(true);
      expect(page.nextCursor).to.equal(null);
      expect((await json<JsonPage>('audit', 'list', '--user', account.id, '--outcome', 'failure')).events).to.deep.equal([]);

      const lines = await run('audit', '--user', 'cli-audit', '--action', 'login');
      expect(lines.code).to.equal(0);
      expect(lines.stdout).to.match(
        new RegExp(`^\\S+Z {2}login {2}success {2}account=cli-audit {2}instance=${instance.name} \\(${instance.clientId}\\) {2}ip=127\\.0\\.0\\.1 {2}client_id=${instance.clientId} {2}amr=pwd\\n$`),
      );
    });

    it('names who acted: the operating-system user for a change from the shell, accounts by username, a deleted one by its id', async function () {
      const { instance } = await addInstance(server, { name: 'Shelf' });
      // The redirect URI is given again unchanged: only the name changed.
      expect((await run('instances', 'update', instance.clientId, '--name', 'Shelf 2', '--redirect-uri', REDIRECT_URI)).code).to.equal(0);
      const [updated] = (await json<JsonPage & { events: { details: Record<string, unknown> }[] }>('audit', '--instance', instance.clientId, '--action', 'instance.updated')).events;
      expect(updated?.details).to.deep.equal({ fields: 'name', 'name.before': 'Shelf', 'name.after': 'Shelf 2', by: null, via: 'cli', os_user: userInfo().username });
      const line = (await run('audit', '--instance', instance.clientId, '--action', 'instance.updated')).stdout;
      expect(line).to.contain(`  by=${userInfo().username} (command line)  instance=Shelf 2 (${instance.clientId})`);
      expect(line).to.contain('  name: "Shelf" → "Shelf 2"');
      expect(line).to.not.contain('redirectUris');

      const admin = await addAccount(server, 'audit-admin', { isAdmin: true });
      const subject = await addAccount(server, 'audit-subject');
      await server.services.accountOperations.setAdmin(subject.id, true, { accountId: admin.id, via: 'api' });
      const named = (await run('audit', '--user', 'audit-subject', '--action', 'account.admin_granted')).stdout;
      expect(named).to.contain('  account=audit-subject  by=audit-admin (API)  ');
      expect((await run('users', 'delete', 'audit-admin', '--force')).code).to.equal(0);
      const deleted = (await run('audit', '--user', subject.id, '--action', 'account.admin_granted')).stdout;
      expect(deleted).to.contain(`  by=${admin.id} (deleted) (API)  `);
    });

    it('pages with --limit and --cursor, every entry once', async function () {
      for (let index = 0; index < 5; index++) await server.services.audit.record({ action: 'cli.page', outcome: 'success', accountId: 'pager' });
      const first = await json<JsonPage>('audit', '--user', 'pager', '--limit', '2');
      const second = await json<JsonPage>('audit', '--user', 'pager', '--limit', '2', '--cursor', first.nextCursor as string);
      const third = await json<JsonPage>('audit', '--user', 'pager', '--limit', '2', '--cursor', second.nextCursor as string);
      const ids = [...first.events, ...second.events, ...third.events].map((event) => event.id);
      expect(new Set(ids).size).to.equal(5);
      expect(third.nextCursor).to.equal(null);
      expect((await run('audit', '--user', 'pager', '--limit', '2')).stdout).to.contain(`More: --cursor ${first.nextCursor}`);
    });

    it('follows new entries as they are written, until --until', async function () {
      await server.services.audit.record({ action: 'cli.follow', outcome: 'success', accountId: 'follower', details: { n: 0 } });
      const until = new Date(Date.now() + 3500).toISOString();
      const following = cli(server.env, ['audit', '--follow', '--user', 'follower', '--until', until, '--json']);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await server.services.audit.record({ action: 'cli.follow', outcome: 'success', accountId: 'follower', details: { n: 1 } });
      await server.services.audit.record({ action: 'cli.follow', outcome: 'success', accountId: 'someone-else', details: { n: 2 } });
      await server.services.audit.record({ action: 'cli.follow', outcome: 'failure', accountId: 'follower', details: { n: 3 } });

      const done = await following;
      expect(done.code, done.stderr).to.equal(0);
      const printed = done.stdout.trim().split('\n').map((line) => JSON.parse(line) as { details: { n: number } });
      expect(printed.map((event) => event.details.n)).to.deep.equal([0, 1, 3]);
    });

    it('prunes entries past AUDIT_RETENTION_DAYS, or past --days', async function () {
      const repository = server.services.dataSource.getRepository(AuditEventEntity);
      const old = { action: 'cli.prune', outcome: 'success' as const, accountId: 'pruned', instanceId: null, ip: null, userAgent: null, details: null };
      await repository.insert([
        { ...old, id: `prune-400-${Date.now()}`, at: new Date(Date.now() - 400 * 86_400_000) },
        { ...old, id: `prune-40-${Date.now()}`, at: new Date(Date.now() - 40 * 86_400_000) },
      ]);
      expect(await json<{ deleted: number; days: number }>('audit', 'prune')).to.include({ deleted: 1, days: 365 });
      expect((await run('audit', 'prune', '--days', '0')).stdout).to.equal('Audit entries are kept forever (0 days): nothing deleted.\n');
      expect((await run('audit', 'prune', '--days', '30')).stdout).to.match(/^Deleted 1 audit entry older than \S+ \(30 days\)\.\n$/);
      expect((await server.services.audit.query({ accountId: 'pruned' })).events).to.deep.equal([]);
    });

    it('answers bad options with a usage error (exit 2) and a bad cursor as invalid input (65)', async function () {
      for (const argv of [['--since', 'yesterday'], ['--limit', '0'], ['--outcome', 'maybe'], ['prune', '--days', '-1']]) {
        expect((await run('audit', ...argv)).code, argv.join(' ')).to.equal(2);
      }
      const cursor = await run('audit', '--cursor', 'bogus');
      expect(cursor.code).to.equal(65);
      expect(cursor.stderr).to.equal('error: the cursor is not one a page of the audit trail returned\n');
    });
  });
}
