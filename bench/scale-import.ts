// The import section of the scale benchmark (bench/scale.ts runs it in a process of its own, so that its peak memory
// is the import's): a ChillFi3 users table of BENCH_IMPORT_ROWS (10,000) rows on a scratch MariaDB database, imported
// by `chillfi3-auth import chillfi3` into a new instance of the seeded PostgreSQL database (a million accounts already
// there) with Redis, then imported again (every row skipped: idempotent). Prints one JSON document on stdout.
//
// Environment: BENCH_SCALE_URL (as bench/scale.ts), BENCH_IMPORT_ROWS; MariaDB as the tests find it (TEST_MARIADB_URL).
import { loadConfig } from '../config/index.js';
import { createLogger } from '../src/logger.js';
import { startServices } from '../src/services.js';
import { manyUsers, scratchChillFi3 } from '../test/import/chillfi3-database.js';
import { cliJson } from '../test/support/cli.js';
import { REDIS_URL } from '../test/support/databases.js';
import { TEST_SECRET_KEY } from '../test/support/test-server.js';

const SCALE_URL = process.env.BENCH_SCALE_URL ?? 'postgres://postgres@127.0.0.1:5432/chillfi3_scale';
const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 10_000);
const log = (message: string) => process.stderr.write(`[bench:scale:import] ${message}\n`);

interface ImportAnswer {
  summary: { create: number; skip: number; bad: number; clash: number; rows: number; seconds: number; rowsPerSecond: number };
}

const env = { AUTH_DATABASE_URL: SCALE_URL, AUTH_REDIS_URL: REDIS_URL, AUTH_SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent' };
const table = await scratchChillFi3();
try {
  const run = Date.now().toString(36);
  await table.insert(manyUsers(ROWS, { prefix: `imp${run}-`, password: 'a ChillFi3 password' }));
  const services = await startServices(loadConfig({ ...env, ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' }), createLogger('silent'), { schema: 'as-is' });
  const { instance } = await services.instances.create({ name: `Import bench ${run}`, redirectUris: ['http://127.0.0.1:9/callback'], grantTypes: ['authorization_code'] });
  await services.close();
  log(`${ROWS} rows into a new instance of the seeded database...`);
  const first = await cliJson<ImportAnswer>(env, ['import', 'chillfi3', '--instance', instance.clientId, '--mysql', table.url]);
  log(`first: ${JSON.stringify(first.summary)}; again...`);
  const again = await cliJson<ImportAnswer>(env, ['import', 'chillfi3', '--instance', instance.clientId, '--mysql', table.url]);
  log(`again: ${JSON.stringify(again.summary)}`);
  process.stdout.write(
    `${JSON.stringify({
      rows: ROWS,
      first: first.summary,
      again: again.summary,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      target: '≥ 2,000 rows/s, every row created once, a second run skips every row',
      met: first.summary.rowsPerSecond >= 2000 && first.summary.create === ROWS && again.summary.skip === ROWS ? '✔' : '✘',
    })}\n`,
  );
} finally {
  await table.drop();
}
