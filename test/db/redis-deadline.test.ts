// Redis commands within a request's deadline, on a redis-server of the test's own frozen with SIGSTOP.
//
// With auto-pipelining, a command called while an earlier batch waits on a frozen Redis is not sent until that batch
// has failed (ioredis runs one batch at a time), and ioredis's commandTimeout only starts when it is sent: the request
// waited the earlier batch's timeout, then its own (2 s at AUTH_REDIS_TIMEOUT_MS 1000). Bounded where it is called, the
// command fails with the request's deadline instead (the budget's 503, not ioredis's "Command timed out"), and the
// request's next command is refused without reaching Redis. Both are checked on what happened, not on how long it took.
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/db/redis-connection.js';
import { boundByRequestDeadlines } from '../../src/db/redis-deadline.js';
import { RequestDeadline, withinDeadline } from '../../src/db/store-budget.js';
import { StoreUnavailable } from '../../src/errors.js';
import { startRedisProcess, type StoreProcess } from '../support/store-processes.js';

const TIMEOUT_MS = 300;

describe('Redis within a request deadline', function () {
  this.timeout(20_000);
  let server: StoreProcess;
  let raw: Redis;
  let redis: Redis;

  before(async function () {
    server = await startRedisProcess();
    raw = await connectRedis({ topology: { kind: 'single', url: server.url }, prefix: '', waitReplicas: 0 }, TIMEOUT_MS);
    redis = boundByRequestDeadlines(raw);
  });
  after(async function () {
    raw?.disconnect();
    await server?.remove();
  });

  it('a command queued behind a batch stuck on a frozen Redis fails with the request deadline, then the request asks no more', async function () {
    const sent: string[] = [];
    const sendCommand = raw.sendCommand.bind(raw);
    raw.sendCommand = (command, stream) => {
      sent.push(`${command.name} ${command.args.join(' ')}`);
      return sendCommand(command, stream);
    };
    server.freeze();
    try {
      // Outside any request, as the store watch pings: the batch in flight.
      const stuck = redis.ping().catch((error: unknown) => error);
      await new Promise(setImmediate);
      expect(sent, 'the batch is in flight').to.deep.equal(['ping ']);
      const answers = await withinDeadline(new RequestDeadline({ databaseMs: TIMEOUT_MS, redisMs: TIMEOUT_MS }), async () => {
        const first = await redis.get('deadline:first').catch((error: unknown) => error);
        const second = await redis.multi().get('deadline:second').exec().catch((error: unknown) => error);
        return { first, second };
      });
      expect(answers.first, 'cut by the request deadline, not by ioredis after a second wait').to.be.instanceOf(StoreUnavailable);
      expect(answers.second).to.be.instanceOf(StoreUnavailable);
      expect(await stuck).to.have.property('message', 'Command timed out');
    } finally {
      server.thaw();
    }
    expect(await withinDeadline(new RequestDeadline({ databaseMs: TIMEOUT_MS, redisMs: TIMEOUT_MS }), () => redis.set('deadline:after', '1'))).to.equal('OK');
    expect(sent.filter((command) => command.includes('deadline:second')), 'the second command never reached the connection').to.deep.equal([]);
    raw.sendCommand = sendCommand;
  });

  it('outside a request, a command has the connection timeout, as before', async function () {
    expect(await redis.set('deadline:outside', '1')).to.equal('OK');
  });
});
