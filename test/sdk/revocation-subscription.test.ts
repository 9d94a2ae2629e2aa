// The SDK on the revocation stream (revocationStream: on): a token it checked and cached is refused within a second of
// its revocation at the server (access removed, sessions ended, a grant revoked by the instance itself), where without
// the stream the cached answer stands for AUTH_CACHE_TTL; the stream reconnects after the server was away and resumes
// with what it missed.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { AuthClient } from '../../src/sdk/index.js';
import { addAccount, codeFlow, sdkClientFor, startTestServer, stopListening, type TestServer } from './support/sdk-server.js';

const OPERATOR = { accountId: null, via: 'cli', osUser: 'test' } as const;

/** Milliseconds until validateToken refuses the token, checking every 20 ms; fails past `withinMs`. */
async function refusedWithin(auth: AuthClient, token: string, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const refused = await auth.validateToken(token).then(
      () => false,
      (error: { code?: string }) => error.code === 'inactive_token',
    );
    if (refused) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`the token still worked after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function connected(auth: AuthClient): Promise<void> {
  return auth.revocations?.connected ? Promise.resolve() : new Promise((resolve) => auth.once('revocations-connected', () => resolve()));
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`sdk: revocation stream (${backend})`, function () {
    this.timeout(30_000);
    let server: TestServer;
    const clients: AuthClient[] = [];

    before(async function () {
      server = await startTestServer(backend);
    });
    after(async function () {
      for (const auth of clients) auth.close();
      await server?.close();
    });

    async function setUp(revocationStream: boolean, name: string) {
      const made = await sdkClientFor(server, { revocationStream, cacheTtlSeconds: 300 });
      clients.push(made.auth);
      if (revocationStream) await connected(made.auth);
      const account = await addAccount(server, `${name}-${backend.replace('+', '-')}`);
      const { tokens } = await codeFlow(made.oidcClient, { username: account.username, scope: 'openid profile offline_access' });
      // Checked once: the introspection answer is cached for AUTH_CACHE_TTL.
      await made.auth.validateToken(tokens.access_token);
      return { ...made, account, tokens };
    }

    it('without the stream, a cached answer stands after the access is removed', async function () {
      const { auth, instance, account, tokens } = await setUp(false, 'cached');
      await server.services.accessOperations.revoke(instance.id, account.id, OPERATOR);
      expect((await auth.validateToken(tokens.access_token)).checkedBy).to.equal('introspection');
    });

    it('refuses a token within a second of its access being removed', async function () {
      const { auth, instance, account, tokens } = await setUp(true, 'removed');
      await server.services.accessOperations.revoke(instance.id, account.id, OPERATOR);
      expect(await refusedWithin(auth, tokens.access_token, 1000)).to.be.below(1000);
    });

    it('refuses a token within a second of its sessions being ended by an admin', async function () {
      const { auth, account, tokens } = await setUp(true, 'ended');
      await server.services.accountOperations.endSessions(account.id, 'all', OPERATOR);
      expect(await refusedWithin(auth, tokens.access_token, 1000)).to.be.below(1000);
    });

    it('refuses an access token within a second of its grant being revoked with the refresh token', async function () {
      const { auth, oidcClient, tokens } = await setUp(true, 'grant');
      await oidc.tokenRevocation(oidcClient, tokens.refresh_token!);
      expect(await refusedWithin(auth, tokens.access_token, 1000)).to.be.below(1000);
    });

    it('reconnects after the server was away and applies what it missed', async function () {
      const { auth, instance, account, tokens } = await setUp(true, 'away');
      const disconnected = new Promise<void>((resolve) => auth.once('revocations-disconnected', () => resolve()));
      const restore = await stopListening(server);
      await disconnected;
      await server.services.accessOperations.revoke(instance.id, account.id, OPERATOR);
      await restore();
      await connected(auth);
      // The first retries wait at most a few seconds; then the missed event comes with Last-Event-ID.
      expect(await refusedWithin(auth, tokens.access_token, 5000)).to.be.below(5000);
    });
  });
}
