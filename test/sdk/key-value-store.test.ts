// One contract for every store the SDK keeps its state in: process memory, ioredis, and node-redis v4 (ChillFi3's
// client), the last two on the real Redis. node-redis v4 ignores ioredis's way of asking for an expiry or NX, so a
// store that passed the wrong spelling would keep entries forever and let every replay through: checked below.
import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { MemoryStore, NodeRedisStore, RedisStore, type KeyValueStore } from '../../src/sdk/index.js';
import { REDIS_URL } from '../support/databases.js';

const prefix = `sdk-store-test-${randomBytes(4).toString('hex')}:`;
const ioredis = new Redis(REDIS_URL, { lazyConnect: true });
const nodeRedis = createClient({ url: REDIS_URL });

/** Milliseconds left on a key, as Redis sees it (null for the memory store, which has no outside view). */
type RemainingTtl = (key: string) => Promise<number | null>;

const stores: [string, () => KeyValueStore, RemainingTtl][] = [
  ['memory', () => new MemoryStore(), async () => null],
  ['ioredis', () => new RedisStore(ioredis, `${prefix}ioredis:`), (key) => ioredis.pttl(`${prefix}ioredis:${key}`)],
  ['node-redis v4', () => new NodeRedisStore(nodeRedis, `${prefix}node-redis:`), (key) => nodeRedis.pTTL(`${prefix}node-redis:${key}`)],
];

describe('sdk: key-value stores', function () {
  before(async function () {
    await ioredis.connect();
    await nodeRedis.connect();
  });
  after(async function () {
    const keys = await ioredis.keys(`${prefix}*`);
    if (keys.length) await ioredis.del(...keys);
    ioredis.disconnect();
    await nodeRedis.quit();
  });

  for (const [name, make, remainingTtl] of stores) {
    describe(name, function () {
      it('keeps a value for its ttl, and not longer', async function () {
        const store = make();
        await store.set('kept', 'v', 60_000);
        expect(await store.get('kept')).to.equal('v');
        const left = await remainingTtl('kept');
        if (left !== null) expect(left).to.be.within(1, 60_000);
        await store.set('brief', 'v', 30);
        await new Promise((resolve) => setTimeout(resolve, 80));
        expect(await store.get('brief')).to.equal(null);
      });

      it('adds only what is absent, with its ttl: the second of two adds is refused', async function () {
        const store = make();
        expect(await store.add('once', 'first', 60_000)).to.equal(true);
        expect(await store.add('once', 'second', 60_000)).to.equal(false);
        expect(await store.get('once')).to.equal('first');
        const left = await remainingTtl('once');
        if (left !== null) expect(left).to.be.within(1, 60_000);
      });

      it('deletes, and treats a ttl of zero or less as a delete', async function () {
        const store = make();
        await store.set('gone', 'v', 60_000);
        await store.delete('gone');
        expect(await store.get('gone')).to.equal(null);
        await store.set('zero', 'v', 60_000);
        await store.set('zero', 'v', 0);
        expect(await store.get('zero')).to.equal(null);
      });
    });
  }
});
