/**
 * The Redis store against a real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379): the shared adapter contract,
 * then the key layout and index lifetimes it promises. Each run writes under its own random key prefix and deletes
 * every key under it afterwards. The contract runs again on a real Redis Cluster of three primaries that the test
 * makes (redis-server in cluster mode): no write or read of the store may fail with CROSSSLOT there.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisOidcStore } from '../../adapters/redis.js';
import { connectRedis } from '../../src/db/redis-connection.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-topologies.js';
import { adapterContract } from './adapter-contract.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('Redis adapter', () => {
  const keyPrefix = `test:adapters:${randomUUID()}:`;
  let redis: Redis;

  before(() => {
    redis = new Redis(redisUrl);
  });

  after(async () => {
    await deleteKeysUnder(redis, keyPrefix);
    await redis.quit();
  });

  adapterContract({
    open: async () => new RedisOidcStore(redis, { keyPrefix }),
    openBroken: async () => {
      const closed = new Redis(redisUrl, { lazyConnect: true });
      closed.disconnect();
      return new RedisOidcStore(closed, { keyPrefix });
    },
  });

  describe('key layout', () => {
    let store: RedisOidcStore;

    before(() => {
      store = new RedisOidcStore(redis, { keyPrefix });
    });

    it('stores one record as JSON under `${prefix}${model}:${id}` with the upsert lifetime', async () => {
      const id = randomUUID();
      await new store.Adapter('AccessToken').upsert(id, { jti: id, scope: 'openid' }, 60);
      const key = `${keyPrefix}AccessToken:${id}`;
      expect(JSON.parse((await redis.get(key)) ?? 'null')).to.deep.equal({ jti: id, scope: 'openid' });
      expect(await redis.pttl(key)).to.be.within(59_000, 60_000);
    });

    it('keeps consume from changing the lifetime', async () => {
      const id = randomUUID();
      await new store.Adapter('AuthorizationCode').upsert(id, { jti: id }, 60);
      await new store.Adapter('AuthorizationCode').consume(id);
      expect(await redis.pttl(`${keyPrefix}AuthorizationCode:${id}`)).to.be.within(59_000, 60_000);
    });

    it('gives the grant index the lifetime of its longest-lived member, or none when a member has none', async () => {
      const grantId = randomUUID();
      const indexKey = `${keyPrefix}index:grant:${grantId}`;
      await new store.Adapter('RefreshToken').upsert(randomUUID(), { grantId }, 120);
      await new store.Adapter('AccessToken').upsert(randomUUID(), { grantId }, 60);
      expect(await redis.pttl(indexKey)).to.be.within(119_000, 120_000);

      await new store.Adapter('AccessToken').upsert(randomUUID(), { grantId });
      expect(await redis.pttl(indexKey)).to.equal(-1);
      await store.revokeByGrantId(grantId);
    });

    it('gives the account indexes the lifetime of their longest-lived member', async () => {
      const accountId = randomUUID();
      await new store.Adapter('Grant').upsert(randomUUID(), { accountId }, 300);
      await new store.Adapter('Grant').upsert(randomUUID(), { accountId }, 30);
      await new store.Adapter('Session').upsert(randomUUID(), { uid: randomUUID(), accountId }, 90);
      expect(await redis.pttl(`${keyPrefix}index:Grant:account:${accountId}`)).to.be.within(299_000, 300_000);
      expect(await redis.pttl(`${keyPrefix}index:Session:account:${accountId}`)).to.be.within(89_000, 90_000);
    });

    it('drops expired members from an index when a member is added', async () => {
      const accountId = randomUUID();
      const indexKey = `${keyPrefix}index:Grant:account:${accountId}`;
      await new store.Adapter('Grant').upsert(randomUUID(), { accountId }, 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await new store.Adapter('Grant').upsert(randomUUID(), { accountId }, 60);
      expect(await redis.zcard(indexKey)).to.equal(1);
    });

    it('deletes the members and the index when a grant is revoked', async () => {
      const grantId = randomUUID();
      const ids = [randomUUID(), randomUUID()];
      for (const id of ids) await new store.Adapter('AccessToken').upsert(id, { jti: id, grantId }, 60);
      await store.revokeByGrantId(grantId);
      const keys = [`${keyPrefix}index:grant:${grantId}`, ...ids.map((id) => `${keyPrefix}AccessToken:${id}`)];
      expect(await redis.exists(...keys)).to.equal(0);
    });

    it('writes a record and its index entries, all under its prefix', async () => {
      const otherPrefix = `test:adapters:${randomUUID()}:`;
      const other = new RedisOidcStore(redis, { keyPrefix: otherPrefix });
      const id = randomUUID();
      await new other.Adapter('Session').upsert(id, { jti: id, uid: id, accountId: id, grantId: id }, 60);
      expect(await keysUnder(redis, otherPrefix)).to.have.members([
        `${otherPrefix}Session:${id}`,
        `${otherPrefix}index:Session:uid:${id}`,
        `${otherPrefix}index:Session:account:${id}`,
        `${otherPrefix}index:grant:${id}`,
      ]);
      await deleteKeysUnder(redis, otherPrefix);
    });
  });
});

describe('Redis adapter on a Redis Cluster', function () {
  this.timeout(30_000);
  let cluster: RedisCluster;
  let redis: Redis;

  before(async function () {
    cluster = await startRedisCluster();
    redis = await connectRedis(cluster.config(), 2000);
  });

  after(async function () {
    redis?.disconnect();
    await cluster?.remove();
  });

  adapterContract({
    open: async () => new RedisOidcStore(redis, { keyPrefix: `test:${randomUUID()}:` }),
    openBroken: async () => {
      const closed = await connectRedis(cluster.config(), 2000);
      closed.disconnect();
      return new RedisOidcStore(closed);
    },
  });

  it('spreads one grant\'s and one account\'s keys over several slots, which a MULTI or MGET of them would refuse', async function () {
    const store = new RedisOidcStore(redis, { keyPrefix: 'slots:' });
    const accountId = randomUUID();
    const grantId = randomUUID();
    const ids = Array.from({ length: 8 }, () => randomUUID());
    for (const id of ids) await new store.Adapter('Session').upsert(id, { jti: id, uid: id, accountId, grantId }, 60);
    const keys = ids.map((id) => `slots:Session:${id}`);
    const slots = new Set(await Promise.all(keys.map((key) => redis.cluster('KEYSLOT', key))));
    expect(slots.size, 'the records live in different slots').to.be.above(1);
    const refused = await redis.mget(keys).then(() => undefined, (error: Error) => error.message);
    expect(refused, 'a plain MGET of them').to.match(/CROSSSLOT|keys in a pipeline command should belong to the same slot/);
    expect(await store.sessionsOfAccount(accountId)).to.have.length(ids.length);
    await store.revokeByGrantId(grantId);
    expect(await store.sessionsOfAccount(accountId)).to.deep.equal([]);
    await store.markRevoked(['grant:a', 'jti:b', 'jti:c'], 60);
    expect(await store.anyRevoked(['jti:none', 'jti:c'])).to.equal(true);
    expect(await store.anyRevoked(['jti:none', 'grant:none'])).to.equal(false);
  });
});

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) keys.push(...(batch as string[]));
  return keys;
}

async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}
