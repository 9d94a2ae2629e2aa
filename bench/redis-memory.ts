// What Redis keeps per signed-in user (`npx tsx bench/redis-memory.ts`): the real server on PostgreSQL and a
// redis-server of its own (noeviction), SIGN_INS users signed in to one instance by the authorization code flow, each
// refreshing once. Then every key's MEMORY USAGE (SAMPLES 0: the whole value), grouped by what it holds, and the growth
// of used_memory per user. Prints one JSON document on stdout. Needs the tests' PostgreSQL (test/support/databases.ts).
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { addAccount, addInstance, codeFlow } from '../test/support/fixtures.js';
import { startOwnRedis } from '../test/support/redis-server.js';
import { startTestServer } from '../test/support/test-server.js';

const SIGN_INS = Number(process.env.SIGN_INS ?? 50);

interface Group {
  keys: number;
  bytes: number;
}

/**
 * `oidc:RefreshToken:<id>` → `RefreshToken`, consumed ones apart; `oidc:index:grant:<id>` → `index:grant`;
 * `oidc:index:Session:uid:<uid>` → `index:Session:uid`; keys outside the oidc store by their first segment.
 */
function groupOf(key: string, value: string | null): string {
  const [prefix, first, second, third] = key.split(':');
  if (prefix !== 'oidc') return `${prefix} (not oidc)`;
  if (first === 'index') return second === 'grant' ? 'index:grant' : `index:${second}:${third}`;
  return value?.includes('"consumed"') ? `${first} (consumed)` : `${first}`;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

async function main(): Promise<void> {
  const ownRedis = await startOwnRedis(['--maxmemory-policy', 'noeviction']);
  const redis = new Redis(ownRedis.url);
  const server = await startTestServer('postgres+redis', { AUTH_REDIS_URL: ownRedis.url });
  try {
    const { client } = await addInstance(server);
    const before = await usedMemory(redis);
    for (let user = 0; user < SIGN_INS; user++) {
      const username = `user${user}`;
      await addAccount(server, username);
      const { tokens } = await codeFlow(client, { username });
      await oidc.refreshTokenGrant(client, tokens.refresh_token!);
    }
    const after = await usedMemory(redis);

    const groups: Record<string, Group> = {};
    for await (const batch of redis.scanStream({ count: 1000 })) {
      for (const key of batch as string[]) {
        const type = await redis.type(key);
        const value = type === 'string' ? await redis.get(key) : null;
        const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
        const group = (groups[groupOf(key, value)] ??= { keys: 0, bytes: 0 });
        group.keys += 1;
        group.bytes += bytes;
      }
    }
    const perKey = Object.fromEntries(
      Object.entries(groups)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, { keys, bytes }]) => [name, { keys, bytesPerKey: Math.round(bytes / keys) }]),
    );
    const keyBytes = Object.values(groups).reduce((sum, { bytes }) => sum + bytes, 0);
    console.log(
      JSON.stringify(
        {
          signIns: SIGN_INS,
          redis: (await redis.info('server')).match(/^redis_version:(.*)$/m)?.[1]?.trim(),
          memoryUsageBytesPerUser: Math.round(keyBytes / SIGN_INS),
          usedMemoryGrowthPerUser: Math.round((after - before) / SIGN_INS),
          perKey,
        },
        null,
        2,
      ),
    );
  } finally {
    await server.close();
    redis.disconnect();
    await ownRedis.stop();
  }
}

await main();
