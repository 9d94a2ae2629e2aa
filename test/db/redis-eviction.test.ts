/**
 * The start-up warning about a Redis that evicts keys: the server's services started on a redis-server of the test's
 * own, configured each way, with the log captured.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfig } from '../../config/index.js';
import { startServices } from '../../src/services.js';
import { scratchSqlite } from '../support/databases.js';
import { startOwnRedis } from '../support/redis-server.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

interface LogLine {
  level: number;
  msg: string;
  maxmemoryPolicy?: string;
}

const WARN = pino.levels.values.warn ?? 40;
const DEBUG = pino.levels.values.debug ?? 20;

describe('Redis eviction check at start', function () {
  this.timeout(20_000);

  it('warns once when Redis evicts any key (allkeys-lru)', async function () {
    const lines = await startLog(['--maxmemory-policy', 'allkeys-lru']);
    const warnings = lines.filter(({ level }) => level >= WARN);
    expect(warnings).to.have.lengthOf(1);
    expect(warnings[0]).to.include({ maxmemoryPolicy: 'allkeys-lru' });
    expect(warnings[0]?.msg).to.contain('noeviction');
  });

  it('warns when Redis evicts keys that have a lifetime (volatile-ttl): every key of ours has one', async function () {
    const lines = await startLog(['--maxmemory-policy', 'volatile-ttl']);
    expect(lines.filter(({ level }) => level >= WARN).map(({ maxmemoryPolicy }) => maxmemoryPolicy)).to.deep.equal([
      'volatile-ttl',
    ]);
  });

  it('says nothing when Redis never evicts (noeviction)', async function () {
    const lines = await startLog(['--maxmemory-policy', 'noeviction']);
    expect(lines.filter(({ level }) => level >= WARN)).to.deep.equal([]);
    expect(lines.filter(({ msg }) => msg.includes('maxmemory'))).to.deep.equal([]);
  });

  it('notes at debug level, and starts, when CONFIG is disabled as on managed Redis services', async function () {
    const lines = await startLog(['--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', '']);
    expect(lines.filter(({ level }) => level >= WARN)).to.deep.equal([]);
    const notes = lines.filter(({ msg }) => msg.includes('maxmemory'));
    expect(notes.map(({ level, msg }) => [level, msg])).to.deep.equal([
      [DEBUG, 'cannot read the Redis maxmemory-policy (CONFIG disabled?): eviction not checked'],
    ]);
  });
});

/** Starts the services on a fresh embedded database and a Redis run with `redisArgs`; returns what they logged. */
async function startLog(redisArgs: string[]): Promise<LogLine[]> {
  const redis = await startOwnRedis(redisArgs);
  const database = await scratchSqlite();
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      AUTH_SECRET_KEY: TEST_SECRET_KEY,
      AUTH_REDIS_URL: redis.url,
      ...database.env,
    });
    const services = await startServices(config, pino({ level: 'debug' }, sink), { schema: 'migrate' });
    await services.close();
    return lines;
  } finally {
    await database.drop();
    await redis.stop();
  }
}
