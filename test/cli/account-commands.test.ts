// The account, access and session commands, run against the stores of a live test deployment: what the shell does
// reaches the running server at once (sessions end, tokens die, sign-in follows the new rules).
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { AccountEntity } from '../../src/accounts/account-entity.js';
import { cli, cliJson } from '../support/cli.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { addAccount, addInstance, codeFlow, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const NEW_PASSWORD = 'another good passphrase';

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`account, access and session commands (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server.close());

    const run = (...argv: string[]) => cli(server.env, argv);
    const json = <T>(...argv: string[]) => cliJson<T>(server.env, argv);

    async function signIn(client: oidc.Configuration, username: string, password: string): Promise<string> {
      const { page, agent } = await openLoginPage(client);
      return (await agent.signIn(page, username, password, REDIRECT_URI)).status === 0 ? 'signed-in' : 'refused';
    }

    it('shows, promotes, disables, enables and unlocks a user by name or id', async function () {
      const account = await addAccount(server, 'shell-user');
      const { client } = await addInstance(server);
      await codeFlow(client, { username: 'shell-user' });
      const shown = await json<{ user: { id: string; hasPassword: boolean; isAdmin: boolean }; sessions: unknown[] }>('users', 'show', 'shell-user');
      expect(shown.user).to.include({ id: account.id, hasPassword: true, isAdmin: false });
      expect(shown.sessions).to.have.length(1);
      expect((await run('users', 'show', account.id)).stdout).to.contain('password      set');

      // Another admin stands, so that taking this one's back needs no --force.
      await addAccount(server, 'shell-root', { isAdmin: true });
      expect((await json<{ user: { isAdmin: boolean } }>('users', 'make-admin', 'shell-user')).user.isAdmin).to.equal(true);
      expect((await json<{ user: { isAdmin: boolean } }>('users', 'revoke-admin', 'shell-user')).user.isAdmin).to.equal(false);

      expect((await run('users', 'disable', 'shell-user')).stdout).to.equal('"shell-user" is disabled and signed out everywhere.\n');
      expect(await server.services.accountSessions.list(account.id)).to.deep.equal([]);
      expect(await signIn(client, 'shell-user', PASSWORD)).to.equal('refused');
      await run('users', 'enable', 'shell-user');
      expect(await signIn(client, 'shell-user', PASSWORD)).to.equal('signed-in');

      await server.services.dataSource.getRepository(AccountEntity).update({ id: account.id }, { lockedUntil: new Date(Date.now() + 60_000) });
      expect(await signIn(client, 'shell-user', PASSWORD)).to.equal('refused');
      await run('users', 'unlock', 'shell-user');
      expect(await signIn(client, 'shell-user', PASSWORD)).to.equal('signed-in');
    });

    it('sets a password from stdin, and resets one to a set-password link shown once', async function () {
      await addAccount(server, 'shell-password');
      const { client } = await addInstance(server);
      const both = await run('users', 'set-password', 'shell-password', '--password', 'x', '--password-stdin');
      expect(both.code).to.equal(2);
      const short = await cli(server.env, ['users', 'set-password', 'shell-password', '--password-stdin'], 'short\n');
      expect(short.code).to.equal(65);
      expect(short.stderr).to.contain('at least 8 characters');
      expect((await cli(server.env, ['users', 'set-password', 'shell-password', '--password-stdin'], `${NEW_PASSWORD}\n`)).code).to.equal(0);
      expect(await signIn(client, 'shell-password', NEW_PASSWORD)).to.equal('signed-in');

      const reset = await json<{ passwordLink: { url: string } }>('users', 'reset-password', 'shell-password');
      expect(await signIn(client, 'shell-password', NEW_PASSWORD)).to.equal('refused');
      const fresh = await json<{ passwordLink: { url: string } }>('users', 'password-link', 'shell-password');
      expect((await new BrowserAgent().open(reset.passwordLink.url)).status, 'the older link is withdrawn').to.equal(400);
      expect((await new BrowserAgent().open(fresh.passwordLink.url)).status).to.equal(200);
    });

    it('lists users whose username, display name or email starts with the search, any case, wildcards taken literally', async function () {
      await addAccount(server, 'Search_Me', { email: 'found@Example.org' });
      await addAccount(server, 'searchless');
      const names = async (search: string) =>
        (await json<{ users: { username: string }[] }>('users', 'list', '--search', search)).users.map((user) => user.username);
      expect(await names('search_')).to.deep.equal(['Search_Me']);
      expect(await names('FOUND@')).to.deep.equal(['Search_Me']);
      expect(await names('EXAMPLE.ORG'), 'not the middle of an email').to.deep.equal([]);
      expect(await names('SEARCHLESS DISP')).to.deep.equal(['searchless']);
      expect(await names('%')).to.deep.equal([]);
      expect(await names('nul\0')).to.deep.equal([]);
    });

    it('lists users a page at a time, saying how to get the next', async function () {
      for (const index of [1, 2, 3]) await addAccount(server, `cli-paged-${index}`);
      const first = await run('users', 'list', '--search', 'cli-paged', '--limit', '2');
      expect(first.stdout).to.contain('cli-paged-1').and.contain('cli-paged-2').and.not.contain('cli-paged-3');
      const cursor = /More: --cursor (\S+)/.exec(first.stdout)?.[1] as string;
      const second = await json<{ users: { username: string }[]; nextCursor: string | null }>('users', 'list', '--search', 'cli-paged', '--limit', '2', '--cursor', cursor);
      expect(second).to.deep.include({ nextCursor: null });
      expect(second.users.map((user) => user.username)).to.deep.equal(['cli-paged-3']);
      expect((await run('users', 'list', '--limit', '0')).code, 'a usage error').to.equal(2);
    });

    it("lists an instance's access a page at a time, by account id", async function () {
      const { instance } = await addInstance(server);
      const ids: string[] = [];
      for (const index of [1, 2, 3]) {
        const account = await addAccount(server, `cli-member-${index}`);
        ids.push(account.id);
        await server.services.instances.grantAccess(instance.id, account.id, 'member');
      }
      const first = await run('access', 'list', '--instance', instance.clientId, '--limit', '2');
      const cursor = /More: --cursor (\S+)/.exec(first.stdout)?.[1] as string;
      expect(cursor, 'a cursor for the next page').to.be.a('string');
      const second = await json<{ access: { accountId: string }[]; nextCursor: string | null }>('access', 'list', '--instance', instance.clientId, '--limit', '2', '--cursor', cursor);
      expect(second.nextCursor).to.equal(null);
      const firstIds = [...first.stdout.matchAll(/cli-member-\d/g)].map(([name]) => name);
      expect(firstIds).to.have.length(2);
      expect(second.access.map((link) => link.accountId), 'the rest, in account id order').to.deep.equal([...ids].sort().slice(2));
    });

    it('deletes a user, and says so when there is none', async function () {
      const account = await addAccount(server, 'shell-deleted');
      expect((await run('users', 'delete', 'shell-deleted')).stdout).to.equal(`Deleted "shell-deleted" (id ${account.id}).\n`);
      const again = await run('users', 'delete', 'shell-deleted');
      expect(again.code).to.equal(66);
      expect(again.stderr).to.equal('error: no user "shell-deleted" (give an id or a username)\n');
    });

    it('grants, changes, lists and revokes access, and sets an instance invite-only', async function () {
      const account = await addAccount(server, 'shell-access');
      const { instance, client } = await addInstance(server);
      expect((await run('instances', 'set-policy', instance.clientId, 'invite')).stdout).to.contain('is invite now');
      expect((await run('instances', 'set-policy', instance.clientId, 'closed')).code).to.equal(65);
      const refused = await codeFlow(client, { username: 'shell-access' }).then(
        () => 'signed-in',
        (error: { error?: string }) => error.error,
      );
      expect(refused).to.equal('access_denied');

      const granted = await json<{ access: { role: string; localUserId: number } }>('access', 'grant', 'shell-access', instance.clientId, '--role', 'admin', '--local-id', '12');
      expect(granted.access).to.include({ role: 'admin', localUserId: 12 });
      expect((await codeFlow(client, { username: 'shell-access' })).tokens.claims()).to.include({ chillfi3_role: 'admin', chillfi3_user_id: 12 });
      expect((await run('access', 'set', 'shell-access', instance.id)).code, 'nothing to change').to.equal(2);
      const changed = await json<{ access: { role: string; localUserId: number | null } }>('access', 'set', 'shell-access', instance.id, '--role', 'member', '--local-id', 'none');
      expect(changed.access).to.include({ role: 'member', localUserId: null });
      const listed = await json<{ access: { accountId: string }[] }>('access', 'list', '--instance', instance.clientId);
      expect(listed.access.map((link) => link.accountId)).to.deep.equal([account.id]);
      expect(listed.access[0], 'names beside the ids').to.include({ accountId: account.id, username: 'shell-access', instanceId: instance.id, instanceName: instance.name, clientId: instance.clientId });
      const lines = (await run('access', 'list', '--user', 'shell-access')).stdout.split('\n');
      expect(lines[0]).to.match(/^INSTANCE +NAME +CLIENT_ID +ACCOUNT +USERNAME +ROLE/);
      expect(lines[1], 'the instance named with its client id beside').to.contain(`${instance.name}  `).and.contain(instance.clientId);
      expect(lines[1], 'the account by username beside its id').to.match(new RegExp(`${account.id} +shell-access +member`));

      const shown = await json<{ access: { instanceId: string; instanceName: string; clientId: string }[] }>('users', 'show', 'shell-access');
      expect(shown.access[0]).to.include({ instanceId: instance.id, instanceName: instance.name, clientId: instance.clientId });
      expect((await run('users', 'show', 'shell-access')).stdout).to.contain(`  access        ${instance.name} (client id ${instance.clientId}, member)`);
      expect((await run('access', 'list')).code).to.equal(2);

      expect((await run('access', 'revoke', 'shell-access', instance.clientId)).code).to.equal(0);
      expect((await json<{ access: unknown[] }>('access', 'list', '--user', 'shell-access')).access).to.deep.equal([]);
      expect((await run('access', 'grant', 'shell-access', instance.clientId, '--local-id', 'seven')).code).to.equal(65);
    });

    it('registers an instance whose own tokens may read its users (users:read), and only with client_credentials', async function () {
      const added = await json<{ instance: { clientId: string; scopes: string[] }; clientSecret: string }>(
        'instances', 'add', '--name', 'Reader', '--grant-types', 'client_credentials', '--scopes', 'openid,users:read',
      );
      expect(added.instance.scopes).to.deep.equal(['openid', 'users:read']);
      const client = await oidc.discovery(new URL(server.issuer), added.instance.clientId, added.clientSecret, undefined, {
        execute: [oidc.allowInsecureRequests],
      });
      const token = await oidc.clientCredentialsGrant(client, { scope: 'users:read' });
      expect(token.scope).to.equal('users:read');
      const refused = await run('instances', 'add', '--name', 'No', '--redirect-uri', 'http://127.0.0.1:9/cb', '--scopes', 'users:read');
      expect(refused.code).to.equal(65);
      expect(refused.stderr).to.contain('client_credentials');
    });

    it('lists and ends sessions, one or all', async function () {
      const account = await addAccount(server, 'shell-sessions');
      const { client } = await addInstance(server);
      const first = await codeFlow(client, { username: 'shell-sessions' });
      const second = await codeFlow(client, { username: 'shell-sessions' });
      const { sessions } = await json<{ sessions: { uid: string }[] }>('sessions', 'list', 'shell-sessions');
      expect(sessions).to.have.length(2);
      expect((await run('sessions', 'end', 'shell-sessions')).code).to.equal(2);
      expect((await run('sessions', 'end', 'shell-sessions', '--session', 'nope')).code).to.equal(66);
      expect((await run('sessions', 'end', 'shell-sessions', '--session', sessions[0]?.uid as string)).code).to.equal(0);
      expect(await server.services.accountSessions.list(account.id)).to.have.length(1);
      const ended = await json<{ ended: { sessions: number } }>('sessions', 'end', 'shell-sessions', '--all');
      expect(ended.ended.sessions).to.equal(1);
      const active = await Promise.all(
        [first, second].map(async ({ tokens }) => (await oidc.tokenIntrospection(client, tokens.access_token)).active),
      );
      expect(active).to.deep.equal([false, false]);
    });
    it('adds a user only under the username rule and one per key, and finds them by any spelling of it', async function () {
      const markup = await run('users', 'add', '--username', '<script>alert(1)</script>', '--no-password');
      expect([markup.code, markup.stderr]).to.deep.equal([65, 'error: username may only hold letters, digits and . _ - @, and must start with a letter or a digit\n']);
      expect((await run('users', 'add', '--username', 'shell-alice', '--no-password')).code).to.equal(0);
      const lookAlike = await run('users', 'add', '--username', 'ＳＨＥＬＬ-ａｌｉｃｅ', '--no-password');
      expect([lookAlike.code, lookAlike.stderr]).to.deep.equal([
        73,
        'error: username "ＳＨＥＬＬ-ａｌｉｃｅ" is taken (usernames that differ only in case or in look-alike forms are one)\n',
      ]);
      const shown = await json<{ user: { username: string } }>('users', 'show', 'Ｓhell-Alice');
      expect(shown.user.username).to.equal('shell-alice');
    });
  });
}
