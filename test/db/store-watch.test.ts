import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { pino } from 'pino';
import { connectRedis } from '../../src/db/redis-connection.js';
import { watchStore } from '../../src/db/store-watch.js';
import { startRedisProcess, type StoreProcess } from '../support/store-processes.js';

describe('store watch: one line per outage', function () {
  this.timeout(20_000);
  let redis: StoreProcess;
  before(async function () {
    redis = await startRedisProcess();
  });
  after(() => redis?.remove());

  it('logs one warning while Redis is down, however long, and one line when it is back', async function () {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const connection = await connectRedis({ topology: { kind: 'single', url: redis.url }, prefix: '', waitReplicas: 0 }, 300);
    const watch = watchStore({ name: 'redis', ping: () => connection.ping() }, logger);
    connection.on('error', watch.failed);
    try {
      await redis.stop();
      await sleep(3000);
      await redis.start();
      await sleep(2500);
      expect(lines.map(({ level, msg }) => [level, msg])).to.deep.equal([
        [40, 'redis unavailable: requests that need it are answered 503 until it recovers'],
        [30, 'redis recovered'],
      ]);
    } finally {
      watch.close();
      connection.disconnect();
    }
  });
});
