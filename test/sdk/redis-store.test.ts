import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';
import type * as oidc from 'openid-client';
import { createAuthClient, RedisStore, type AuthClient } from '../../src/sdk/index.js';
import { REDIS_URL } from '../support/databases.js';
import { addAccount, codeFlow, countRequests, sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';

describe('sdk: state in Redis shared by two nodes of an instance', function () {
  let server: TestServer;
  let redis: Redis;
  let nodeA: AuthClient;
  let nodeB: AuthClient;
  let oidcClient: oidc.Configuration;
  const prefix = `sdk-test-${randomBytes(4).toString('hex')}:`;

  before(async function () {
    server = await startTestServer('sqlite');
    await addAccount(server, 'frank');
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    ({ auth: nodeA, oidcClient } = await sdkClientFor(server, { redis, redisPrefix: prefix, cacheTtlSeconds: 120 }));
    nodeB = createAuthClient({ ...nodeA.options, logger: null });
  });
  after(async function () {
    nodeA?.close();
    nodeB?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis?.disconnect();
    await server?.close();
  });

  it("bounds entries by AUTH_CACHE_TTL, and one node reuses the other node's introspection", async function () {
    const token = (await codeFlow(oidcClient, { username: 'frank' })).tokens.access_token;
    const requests = countRequests(server);
    expect((await nodeA.validateToken(token)).checkedBy).to.equal('introspection');
    expect((await nodeB.validateToken(token)).checkedBy).to.equal('introspection');
    expect(requests.get('POST /token/introspection')).to.equal(1);
    const keys = await redis.keys(`${prefix}introspection:*`);
    expect(keys).to.have.length(1);
    expect(await redis.pttl(keys[0]!)).to.be.above(0).and.at.most(120_000);
  });

  it('refreshes a browser session once, however many requests reach however many nodes together', async function () {
    const { tokens } = await codeFlow(oidcClient, { username: 'frank' });
    const created = await nodeA.sessions.create(tokens);
    const sessionKey = `session:${createHash('sha256').update(created.id).digest('base64url')}`;
    await nodeA.store.set(sessionKey, JSON.stringify({ ...created, expiresAt: Date.now() + 1000 }), 60_000);
    const requests = countRequests(server);
    const nodes = [nodeA, nodeB, nodeA, nodeB, nodeA, nodeB, nodeB, nodeA];
    const sessions = await Promise.all(nodes.map((node) => node.sessions.current(created.id)));
    expect(requests.get('POST /token'), 'one refresh').to.equal(1);
    const accessTokens = new Set(sessions.map((session) => session?.accessToken));
    expect(accessTokens.size).to.equal(1);
    expect(accessTokens.has(created.accessToken)).to.equal(false);
  });

  it('a session ended on one node is refused on the other; replay markers are set-once', async function () {
    const { tokens } = await codeFlow(oidcClient, { username: 'frank' });
    await nodeB.verifyAccessToken(tokens.access_token);
    await nodeA.endSession({ sid: tokens.claims()!.sid as string, sub: null });
    let refused: unknown;
    try {
      await nodeB.verifyAccessToken(tokens.access_token);
    } catch (error) {
      refused = error;
    }
    expect(refused).to.have.property('code', 'inactive_token');
    const store = new RedisStore(redis, prefix);
    expect(await store.add('once', '1', 10_000)).to.equal(true);
    expect(await store.add('once', '1', 10_000)).to.equal(false);
  });
});
