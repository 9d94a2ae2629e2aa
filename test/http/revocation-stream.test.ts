/**
 * GET /revocations, an instance's revocation stream (Server-Sent Events): strangers and wrong secrets refused with
 * RFC 6750-style answers, never a 5xx; an instance hears what concerns it (grants and tokens revoked, sessions ended,
 * access removed or changed, accounts disabled, its secret rotated, keys changed) and nothing of another instance's;
 * Last-Event-ID resumes; heartbeats; on SQLite and on PostgreSQL + Redis with the change made on another node.
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { addAccount, addInstance, basicAuth, codeFlow } from '../support/fixtures.js';
import { connectSse, type SseConnection, type SseEvent } from '../support/sse.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR = { accountId: null, via: 'cli', osUser: 'test' } as const;

type Instance = Awaited<ReturnType<typeof addInstance>>;

const data = (event: SseEvent) => JSON.parse(event.data) as Record<string, unknown>;
const about = (type: string, sub?: string) => (event: SseEvent) => event.event === type && (sub === undefined || data(event).sub === sub);

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`revocation stream (${backend})`, function () {
    this.timeout(30_000);
    let server: TestServer;
    /** Where the changes are made: another node when there are several. */
    let writer: TestServer;
    let one: Instance;
    let other: Instance;
    const open: SseConnection[] = [];

    before(async function () {
      server = await startTestServer(backend, { REVOCATION_HEARTBEAT_SECONDS: '1' });
      writer = backend === 'sqlite' ? server : await startTestServer(backend, {}, { join: server });
      one = await addInstance(server);
      other = await addInstance(server);
    });
    after(async function () {
      for (const connection of open) connection.close();
      if (writer !== server) await writer?.close();
      await server?.close();
    });

    async function listen(instance: Instance, headers: Record<string, string> = {}, query = ''): Promise<SseConnection & { body: unknown }> {
      const connection = await connectSse(`${server.url}/revocations${query}`, {
        authorization: basicAuth(instance.instance.clientId, instance.clientSecret),
        ...headers,
      });
      open.push(connection);
      return connection;
    }

    it('refuses a stranger, a wrong secret, another instance\'s stream and a bad Last-Event-ID, never with a 5xx', async function () {
      const stranger = await connectSse(`${server.url}/revocations`, {});
      expect(stranger.status).to.equal(401);
      expect(stranger.headers.get('www-authenticate')).to.match(/^Basic /);
      expect(stranger.body).to.deep.include({ error: 'invalid_client' });
      const wrong = await connectSse(`${server.url}/revocations`, { authorization: basicAuth(one.instance.clientId, 'not the secret') });
      expect(wrong.status).to.equal(401);
      const unknown = await connectSse(`${server.url}/revocations`, { authorization: basicAuth('nobody', 'secret') });
      expect(unknown.status).to.equal(401);
      const garbage = await connectSse(`${server.url}/revocations`, { authorization: 'Basic %%%' });
      expect(garbage.status).to.equal(401);
      const bearer = await connectSse(`${server.url}/revocations`, { authorization: 'Bearer forged' });
      expect(bearer.status).to.equal(401);
      const others = await listen(one, {}, `?client_id=${encodeURIComponent(other.instance.clientId)}`);
      expect(others.status).to.equal(403);
      expect(others.body).to.deep.include({ error: 'access_denied' });
      const badId = await listen(one, { 'last-event-id': 'yesterday' });
      expect(badId.status).to.equal(400);
      const post = await fetch(`${server.url}/revocations`, { method: 'POST', headers: { authorization: basicAuth(one.instance.clientId, one.clientSecret) } });
      expect(post.status).to.equal(405);
    });

    it('streams to an authenticated instance, with heartbeats', async function () {
      const stream = await listen(one);
      expect(stream.status).to.equal(200);
      expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
      expect(stream.headers.get('cache-control')).to.equal('no-store');
      await stream.comment(/^heartbeat$/, 3000);
    });

    it("tells an instance of its user's access removed, sessions ended and grants revoked, and the other instance nothing", async function () {
      const account = await addAccount(writer, `sam-${backend.replace("+", "-")}`);
      await codeFlow(one.client, { username: account.username });
      await codeFlow(other.client, { username: account.username });
      const mine = await listen(one);
      const theirs = await listen(other);
      await writer.services.accessOperations.revoke(one.instance.id, account.id, OPERATOR);
      const removed = await mine.next(about('access.revoked', account.id), 1000);
      expect(data(removed)).to.include({ type: 'access.revoked', sub: account.id });
      await mine.next(about('session.ended', account.id), 1000);
      const grant = await mine.next(about('grant.revoked', account.id), 1000);
      expect(data(grant).grantId).to.be.a('string');
      await theirs.comment(/^heartbeat$/, 2000);
      expect(theirs.events.filter((event) => event.event !== 'keys.changed')).to.deep.equal([]);
    });

    it('tells the instances of an account disabled, and an instance of its own secret rotated', async function () {
      const account = await addAccount(writer, `kim-${backend.replace("+", "-")}`);
      await codeFlow(one.client, { username: account.username });
      const stream = await listen(one);
      await writer.services.accountOperations.disable(account.id, OPERATOR);
      await stream.next(about('account.disabled', account.id), 1000);
      const theirs = await listen(other);
      await writer.services.instanceOperations.rotateSecret(other.instance.id, OPERATOR);
      await theirs.next(about('secret.rotated'), 1000);
      expect(stream.events.some((event) => event.event === 'secret.rotated')).to.equal(false);
    });

    it('tells an instance of a refresh token it revoked itself', async function () {
      const account = await addAccount(writer, `lee-${backend.replace("+", "-")}`);
      const { tokens } = await codeFlow(one.client, { username: account.username, scope: 'openid offline_access' });
      const stream = await listen(one);
      await oidc.tokenRevocation(one.client, tokens.refresh_token!);
      await stream.next((event) => event.event === 'grant.revoked' || event.event === 'token.revoked', 1000);
    });

    it('tells every instance the signing keys changed', async function () {
      const mine = await listen(one);
      const theirs = await listen(other);
      await writer.services.keyOperations.rotate([writer.services.config.algorithms.accessToken], OPERATOR);
      await writer.services.keyWatch.check();
      await mine.next(about('keys.changed'), 2000);
      await theirs.next(about('keys.changed'), 2000);
    });

    it('ends its streams when the node stops, so that instances reconnect elsewhere', async function () {
      const stream = await listen(other);
      server.services.revocations.endStreams();
      await stream.ended;
      const again = await listen(other);
      expect(again.status).to.equal(200);
    });

    it('resumes after Last-Event-ID with what it missed, and only its own', async function () {
      const first = await listen(one);
      await writer.services.instanceOperations.rotateSecret(one.instance.id, OPERATOR);
      const heard = await first.next(about('secret.rotated'), 1000);
      first.close();
      // The secret it connected with still works in its grace; the two events come while it is away.
      await writer.services.instanceOperations.rotateSecret(one.instance.id, OPERATOR);
      await writer.services.instanceOperations.rotateSecret(other.instance.id, OPERATOR);
      const current = (await server.services.instances.findWithSecret(one.instance.clientId))!.clientSecret!;
      const again = await connectSse(`${server.url}/revocations`, {
        authorization: basicAuth(one.instance.clientId, current),
        'last-event-id': heard.id!,
      });
      open.push(again);
      const missed = await again.next(about('secret.rotated'), 1000);
      expect(Number(missed.id)).to.be.greaterThan(Number(heard.id));
      await again.comment(/^heartbeat$/, 2000);
      expect(again.events.filter((event) => event.event === 'secret.rotated')).to.have.length(1);
      one.clientSecret = current;
    });
  });
}
