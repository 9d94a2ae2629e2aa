import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { PasswordLinkEntity } from '../../src/accounts/password-link-entity.js';
import type { Actor } from '../../src/admin/account-operations.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { BrowserAgent, formAction, hiddenInputs } from '../support/browser-agent.js';
import { addAccount, addInstance, codeFlow, openLoginPage, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR: Actor = { accountId: null, via: 'cli' };
const NEW_PASSWORD = 'a brand new passphrase';

for (const backend of BACKENDS) {
  describe(`account operations (${backend})`, function () {
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof backchannelReceiver>>;
    before(async function () {
      server = await startTestServer(backend, { MAX_LOGIN_ATTEMPTS: '3' });
      receiver = await backchannelReceiver();
    });
    after(async function () {
      receiver.server.close();
      await server.close();
    });

    const ops = () => server.services.accountOperations;

    /** An account signed in on an instance that listens for back-channel logout. */
    async function signedIn(username: string) {
      const account = await addAccount(server, username);
      const instance = await addInstance(server, { backchannelLogoutUri: receiver.url });
      const agent = new BrowserAgent();
      const { tokens } = await codeFlow(instance.client, { username, agent });
      return { account, instance, agent, tokens };
    }

    /** Signs in through the login form; 'signed-in' or 'refused'. */
    async function signIn(client: oidc.Configuration, username: string, password: string): Promise<string> {
      const { page, agent } = await openLoginPage(client);
      const done = await agent.signIn(page, username, password, REDIRECT_URI);
      return done.status === 0 ? 'signed-in' : 'refused';
    }

    /** Sets a password through the set-password page a link opens, in a browser of its own. */
    async function useLink(url: string, password: string) {
      const browser = new BrowserAgent();
      const form = await browser.open(url);
      return browser.open(new URL(formAction(form.body), form.url).toString(), { form: { ...hiddenInputs(form.body), password, confirm: password } });
    }

    async function lastAudit(accountId: string) {
      const [event] = await server.services.audit.recent(1, accountId);
      return event;
    }

    it('disables an account: its tokens, refresh token and session stop working at once; enabling lets it back in', async function () {
      const { account, instance, agent, tokens } = await signedIn('disabled-one');
      const logouts = receiver.tokens.length;
      await ops().disable(account.id, OPERATOR);
      expect(await lastAudit(account.id)).to.include({ action: 'account.disabled', outcome: 'success' });
      expect(receiver.tokens.slice(logouts).map((token) => decodeJwt(token).sub)).to.deep.equal([account.id]);
      expect((await oidc.tokenIntrospection(instance.client, tokens.access_token)).active).to.equal(false);
      let refused: unknown;
      await oidc.refreshTokenGrant(instance.client, tokens.refresh_token as string).catch((error: unknown) => (refused = error));
      expect(refused).to.have.property('error', 'invalid_grant');
      const { page } = await openLoginPage(instance.client, agent);
      expect(page.body).to.contain('name="password"');
      expect(await signIn(instance.client, 'disabled-one', PASSWORD)).to.equal('refused');

      await ops().enable(account.id, OPERATOR);
      expect(await signIn(instance.client, 'disabled-one', PASSWORD)).to.equal('signed-in');
    });

    it('unlocks a locked account', async function () {
      const { account, instance } = await signedIn('locked-one');
      for (let i = 0; i < 3; i++) await signIn(instance.client, 'locked-one', 'wrong password');
      expect(await signIn(instance.client, 'locked-one', PASSWORD)).to.equal('refused');
      await ops().unlock(account.id, OPERATOR);
      expect(await signIn(instance.client, 'locked-one', PASSWORD)).to.equal('signed-in');
    });

    it('makes an account an admin and takes it back, audited', async function () {
      await addAccount(server, 'standing-admin', { isAdmin: true });
      const account = await addAccount(server, 'promoted');
      expect((await ops().setAdmin(account.id, true, OPERATOR)).isAdmin).to.equal(true);
      expect(await lastAudit(account.id)).to.include({ action: 'account.admin_granted' });
      expect((await ops().setAdmin(account.id, false, OPERATOR)).isAdmin).to.equal(false);
      expect(await lastAudit(account.id)).to.include({ action: 'account.admin_revoked' });
    });

    it('sets a password for an account under the policy, signing it out everywhere', async function () {
      const { account, instance, tokens } = await signedIn('reset-one');
      for (const bad of ['short', 'reset-one', 'RESET-ONE']) {
        await ops().setPassword(account.id, bad, OPERATOR).then(
          () => expect.fail(`accepted ${bad}`),
          (error: Error) => expect(error.message).to.match(/at least 8|not be the username/),
        );
      }
      await ops().setPassword(account.id, NEW_PASSWORD, OPERATOR);
      expect((await oidc.tokenIntrospection(instance.client, tokens.access_token)).active).to.equal(false);
      expect(await signIn(instance.client, 'reset-one', PASSWORD)).to.equal('refused');
      expect(await signIn(instance.client, 'reset-one', NEW_PASSWORD)).to.equal('signed-in');
    });

    it('clears a password: no sign-in until the owner sets one through the single-use link', async function () {
      const { account, instance } = await signedIn('cleared-one');
      const link = await ops().clearPassword(account.id, OPERATOR);
      expect(link.url).to.match(new RegExp(`^${server.issuer}/set-password\\?token=[\\w-]{43}$`));
      expect(await signIn(instance.client, 'cleared-one', PASSWORD)).to.equal('refused');

      const browser = new BrowserAgent();
      const form = await browser.open(link.url);
      expect(form.status).to.equal(200);
      expect(form.body).to.contain('Set your password').and.contain('cleared-one');
      const action = new URL(formAction(form.body), form.url).toString();
      const submit = (password: string, confirm = password) =>
        browser.open(action, { form: { ...hiddenInputs(form.body), password, confirm } });
      const mismatch = await submit(NEW_PASSWORD, 'something else');
      expect(mismatch.status).to.equal(400);
      expect(mismatch.body).to.contain('Not the same as the password above.');
      const short = await submit('short');
      expect(short.status).to.equal(400);
      expect(short.body).to.contain('at least 8 characters');
      const done = await submit(NEW_PASSWORD);
      expect(done.status).to.equal(200);
      expect(done.body).to.contain('Your password is set');
      const again = await submit('yet another passphrase');
      expect(again.status).to.equal(400);
      expect(again.body).to.contain('not valid any more');
      expect((await browser.open(link.url)).status).to.equal(400);
      expect(await signIn(instance.client, 'cleared-one', NEW_PASSWORD)).to.equal('signed-in');
    });

    it('signs the account out everywhere when a link sets its password, as every password change does', async function () {
      const { account, instance, agent, tokens } = await signedIn('link-user');
      const link = await ops().issuePasswordLink(account.id, OPERATOR);
      expect(await signIn(instance.client, 'link-user', PASSWORD), 'the password works until the link is used').to.equal('signed-in');
      const logouts = receiver.tokens.length;
      const done = await useLink(link.url, NEW_PASSWORD);
      expect(done.body).to.contain('Your password is set').and.contain('signed out');
      expect(receiver.tokens.slice(logouts).map((token) => decodeJwt(token).sub)).to.deep.equal([account.id, account.id]);
      expect((await oidc.tokenIntrospection(instance.client, tokens.access_token)).active, 'the old access token').to.equal(false);
      let refused: unknown;
      await oidc.refreshTokenGrant(instance.client, tokens.refresh_token as string).catch((error: unknown) => (refused = error));
      expect(refused, 'the old refresh token').to.have.property('error', 'invalid_grant');
      const { page } = await openLoginPage(instance.client, agent);
      expect(page.body, 'the browser is asked to sign in again').to.contain('name="password"');
      expect(await server.services.accountSessions.list(account.id)).to.deep.equal([]);
      expect(await lastAudit(account.id)).to.include({ action: 'account.password_set' });
      expect((await lastAudit(account.id))?.details).to.include({ with: 'link', sessions: 2 });
      expect(await signIn(instance.client, 'link-user', PASSWORD)).to.equal('refused');
      expect(await signIn(instance.client, 'link-user', NEW_PASSWORD)).to.equal('signed-in');
    });

    it('withdraws the links given out before a password change, whoever changes it', async function () {
      const account = await addAccount(server, 'link-withdrawn');
      const changes = [
        () => ops().changeOwnPassword(account.id, PASSWORD, NEW_PASSWORD, { ...OPERATOR, via: 'api' }),
        () => ops().setPassword(account.id, PASSWORD, OPERATOR),
      ];
      for (const change of changes) {
        const link = await ops().issuePasswordLink(account.id, OPERATOR);
        await change();
        const opened = await new BrowserAgent().open(link.url);
        expect(opened.status).to.equal(400);
        expect(opened.body).to.contain('not valid any more');
        await ops().setPasswordWithLink(new URL(link.url).searchParams.get('token') as string, 'a password from an old link', OPERATOR).then(
          () => expect.fail('a withdrawn link set the password'),
          (error: Error & { code?: string }) => expect(error.code).to.equal('invalid_link'),
        );
      }
      expect(await server.services.authenticator.signIn('link-withdrawn', PASSWORD)).to.include({ ok: true });
    });

    it("refuses anyone a link for their own account, or clearing their own password for one", async function () {
      const account = await addAccount(server, 'own-linker', { isAdmin: true });
      const self: Actor = { accountId: account.id, via: 'web' };
      for (const attempt of [() => ops().issuePasswordLink(account.id, self), () => ops().clearPassword(account.id, self)]) {
        await attempt().then(
          () => expect.fail('made a link for its own actor'),
          (error: Error & { status?: number }) => {
            expect(error.status).to.equal(400);
            expect(error.message).to.equal('you cannot make a set-password link for your own account: change your password on your account page, with the current one');
          },
        );
      }
      expect(await server.services.accounts.hasPassword(account.id)).to.equal(true);
      expect(await server.services.audit.recent(10, account.id), 'nothing done, nothing audited').to.deep.equal([]);
    });

    it('lets exactly one of 20 concurrent uses of a link set the password', async function () {
      const account = await addAccount(server, 'raced-link');
      const link = await ops().issuePasswordLink(account.id, OPERATOR);
      const token = new URL(link.url).searchParams.get('token') as string;
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => ops().setPasswordWithLink(token, `${NEW_PASSWORD} ${i}`, { accountId: null, via: 'web' })),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).to.have.length(1);
      expect(results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason.code))
        .to.satisfy((codes: string[]) => codes.every((code) => code === 'invalid_link'));
    });

    it('refuses an expired link and a link withdrawn by a newer one', async function () {
      const account = await addAccount(server, 'stale-link');
      const first = await ops().issuePasswordLink(account.id, OPERATOR);
      const second = await ops().issuePasswordLink(account.id, OPERATOR);
      expect((await new BrowserAgent().open(first.url)).status).to.equal(400);
      await server.services.dataSource.getRepository(PasswordLinkEntity).update({ accountId: account.id }, { expiresAt: new Date(Date.now() - 1000) });
      const expired = await new BrowserAgent().open(second.url);
      expect(expired.status).to.equal(400);
      expect(expired.body).to.contain('not valid any more');
    });

    it('changes its own password with the current one, ending the other sessions but the one to keep', async function () {
      const { account, instance, tokens } = await signedIn('changer');
      const kept = await codeFlow(instance.client, { username: 'changer' });
      const keepUid = (await server.services.accountSessions.list(account.id)).find((session) =>
        session.signedInAt !== null && session.clientIds.includes(instance.instance.clientId),
      )?.uid as string;
      await ops().changeOwnPassword(account.id, 'not my password', NEW_PASSWORD, { ...OPERATOR, via: 'api', keepSessionUid: keepUid }).then(
        () => expect.fail('accepted a wrong current password'),
        (error: Error) => expect(error.message).to.contain('current password'),
      );
      expect(await lastAudit(account.id)).to.include({ action: 'account.password_changed', outcome: 'failure' });
      await ops().changeOwnPassword(account.id, PASSWORD, NEW_PASSWORD, { ...OPERATOR, via: 'api', keepSessionUid: keepUid });
      const active = await Promise.all(
        [tokens, kept.tokens].map(async ({ access_token }) => (await oidc.tokenIntrospection(instance.client, access_token)).active),
      );
      expect(active.filter(Boolean)).to.have.length(1);
      expect(await server.services.accountSessions.list(account.id)).to.have.length(1);
      expect(await signIn(instance.client, 'changer', NEW_PASSWORD)).to.equal('signed-in');
    });

    it('deletes an account after signing it out everywhere; its access goes with it', async function () {
      const { account, instance, tokens } = await signedIn('deleted-one');
      await server.services.instances.grantAccess(instance.instance.id, account.id, 'member');
      const logouts = receiver.tokens.length;
      await ops().delete(account.id, OPERATOR);
      expect(receiver.tokens.slice(logouts).map((token) => decodeJwt(token).sub)).to.deep.equal([account.id]);
      expect((await oidc.tokenIntrospection(instance.client, tokens.access_token)).active).to.equal(false);
      expect(await server.services.accounts.find(account.id)).to.equal(null);
      expect(await server.services.instances.accessOf(instance.instance.id, account.id)).to.equal(null);
      expect(await lastAudit(account.id)).to.include({ action: 'account.deleted' });
      await ops().delete(account.id, OPERATOR).then(
        () => expect.fail('deleted twice'),
        (error: Error & { status?: number }) => expect(error.status).to.equal(404),
      );
    });

    it('records of a profile update only the fields that changed, each before and after, and who asked', async function () {
      const account = await addAccount(server, 'profiled-one');
      await ops().updateProfile(account.id, { email: 'profiled@example.org' }, OPERATOR);
      await ops().updateProfile(account.id, { displayName: 'Profiled', email: 'profiled@example.org', bio: null }, { accountId: account.id, via: 'web' });
      expect((await lastAudit(account.id))?.details).to.deep.equal({
        fields: 'displayName',
        'displayName.before': 'profiled-one display',
        'displayName.after': 'Profiled',
        by: account.id,
        via: 'web',
      });
      await ops().updateProfile(account.id, { displayName: 'Profiled' }, { ...OPERATOR, osUser: 'alice' });
      expect((await lastAudit(account.id))?.details, 'nothing changed').to.deep.equal({ fields: '', by: null, via: 'cli', os_user: 'alice' });
    });
  });
}

for (const backend of BACKENDS) {
  describe(`account operations: the last enabled admin (${backend})`, function () {
    let server: TestServer;
    beforeEach(async function () {
      server = await startTestServer(backend);
    });
    afterEach(() => server.close());

    const ops = () => server.services.accountOperations;
    const refusal = (error: Error & { status?: number; code?: string }) => ({ status: error.status, code: error.code });
    const lastAdminRefusal = { status: 409, code: 'last_admin' };

    async function enabledAdmins(): Promise<string[]> {
      const accounts = await server.services.accounts.list();
      return accounts.filter((account) => account.isAdmin && !account.disabled).map((account) => account.username);
    }

    it('refuses to demote, disable or delete it (nothing ends), and does all three with force', async function () {
      const root = await addAccount(server, 'root', { isAdmin: true });
      // A disabled admin is no admin anyone can use: it does not count.
      const dormant = await addAccount(server, 'dormant', { isAdmin: true });
      await ops().disable(dormant.id, OPERATOR);
      const { client } = await addInstance(server);
      await codeFlow(client, { username: 'root' });
      for (const takeAway of [() => ops().setAdmin(root.id, false, OPERATOR), () => ops().disable(root.id, OPERATOR), () => ops().delete(root.id, OPERATOR)]) {
        expect(await takeAway().then(() => 'done', refusal)).to.deep.equal(lastAdminRefusal);
      }
      expect(await enabledAdmins()).to.deep.equal(['root']);
      expect(await server.services.accountSessions.list(root.id), 'the refused delete ended no session').to.have.length(1);

      await ops().setAdmin(dormant.id, false, OPERATOR);
      await ops().setAdmin(root.id, false, OPERATOR, { force: true });
      expect(await enabledAdmins()).to.deep.equal([]);
      await ops().setAdmin(root.id, true, OPERATOR);
      await ops().disable(root.id, OPERATOR, { force: true });
      await ops().enable(root.id, OPERATOR);
      await ops().delete(root.id, OPERATOR, { force: true });
      expect(await server.services.accounts.find(root.id)).to.equal(null);
    });

    it('lets the others go while one remains', async function () {
      const [first, second, third] = await Promise.all(['first', 'second', 'third'].map((name) => addAccount(server, name, { isAdmin: true })));
      await ops().setAdmin(first!.id, false, OPERATOR);
      await ops().disable(second!.id, OPERATOR);
      expect(await ops().delete(third!.id, OPERATOR).then(() => 'done', refusal)).to.deep.equal(lastAdminRefusal);
      expect(await enabledAdmins()).to.deep.equal(['third']);
    });

    it('keeps one of 20 admins taken away at once, each by another path', async function () {
      const admins = await Promise.all(Array.from({ length: 20 }, (_, i) => addAccount(server, `admin${String(i).padStart(2, '0')}`, { isAdmin: true })));
      const takeAway = [
        (id: string) => ops().setAdmin(id, false, OPERATOR),
        (id: string) => ops().disable(id, OPERATOR),
        (id: string) => ops().delete(id, OPERATOR),
      ];
      const outcomes = await Promise.all(admins.map((admin, i) => takeAway[i % takeAway.length]!(admin.id).then(() => 'done', refusal)));
      expect(outcomes.filter((outcome) => outcome !== 'done')).to.deep.equal([lastAdminRefusal]);
      expect(await enabledAdmins()).to.have.length(1);
    });
  });
}
