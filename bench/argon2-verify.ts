// The ceiling of sign-in: raw argon2id verifications per second at the configured cost, with as many at once as the
// sign-in benchmark runs sign-ins (bench/sign-in-audit.ts), in a process of its own. Run by bench/run.ts (under
// `signIn`), or alone: `npx tsx bench/argon2-verify.ts`; prints one JSON document on stdout.
import { loadConfig } from '../config/index.js';
import { PasswordHasher } from '../src/accounts/password-hasher.js';

const CONCURRENCY = Number(process.env.BENCH_SIGNIN_CONCURRENCY ?? 8);
const SECONDS = Number(process.env.BENCH_ARGON2_SECONDS ?? 5);
const PASSWORD = 'correct horse battery staple';

// The cost as the server reads it (ARGON2_*); the secret is irrelevant here but the embedded default wants one.
const { argon2: cost } = loadConfig({ AUTH_SECRET_KEY: 'argon2-benchmark-only-0123456789abcdef', AUTH_DATA_DIR: '/tmp' });
// The server's own hasher: the same argon2id options and the same verify call as a sign-in.
const hasher = new PasswordHasher(cost);
const hash = await hasher.hash(PASSWORD);

let verified = 0;
const deadline = Date.now() + SECONDS * 1000;
const started = performance.now();
const cpuBefore = process.cpuUsage();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < deadline) {
      if (!(await hasher.verify(hash, PASSWORD)).valid) throw new Error('argon2 verify failed');
      verified++;
    }
  }),
);
const elapsedSeconds = (performance.now() - started) / 1000;
// CPU of the whole process (argon2 runs on libuv's threads): what one verification costs, however busy the machine.
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  `${JSON.stringify({ benchmark: 'raw argon2id verify', concurrency: CONCURRENCY, argon2: cost, verifiesPerSecond: Math.round((verified / elapsedSeconds) * 10) / 10, cpuMillisPerVerify: Math.round((cpu.user + cpu.system) / verified / 100) / 10 }, null, 2)}\n`,
);
