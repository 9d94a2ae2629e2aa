// What a second factor adds to a sign-in: one authenticator-app verification as the sign-in step makes it
// (TotpFactor.verify: read the factor, open its sealed secret, HMAC-SHA1 over the window, the atomic counter UPDATE),
// against the baseline every sign-in already pays, one argon2id password verification at the configured cost, measured
// in the same run, sequentially, one at a time. Also the bare otpauth check (no store, no sealing) for scale. On the
// embedded SQLite database in a scratch folder. Run by bench/run.ts (under `totpVerify`), or alone:
// `npx tsx bench/totp-verify.ts`; prints one JSON document on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { loadConfig } from '../config/index.js';
import { PasswordHasher } from '../src/accounts/password-hasher.js';
import { SecondFactorStore } from '../src/mfa/second-factor-store.js';
import { TotpFactor } from '../src/mfa/totp-factor.js';
import { openStores } from '../src/stores.js';

const ITERATIONS = Number(process.env.BENCH_TOTP_ITERATIONS ?? 300);
const PASSWORD_ITERATIONS = Number(process.env.BENCH_ARGON2_ITERATIONS ?? 30);
const PASSWORD = 'correct horse battery staple';

const folder = mkdtempSync(join(tmpdir(), 'totp-bench-'));
const config = loadConfig({ AUTH_SECRET_KEY: 'totp-benchmark-only-0123456789abcdef', AUTH_DATA_DIR: folder, LOG_LEVEL: 'silent' });
const stores = await openStores(config, { schema: 'migrate' });
try {
  let now = Date.now();
  const totp = new TotpFactor({ store: new SecondFactorStore(stores.dataSource), secrets: stores.secrets, issuerLabel: 'bench', clock: () => now });
  const account = await stores.accounts.create({ username: 'bench', passwordHash: null });
  const enrolment = await totp.startEnrolment(account, 'bench');
  const codeAt = (timestamp: number) => new TOTP({ secret: Secret.fromBase32(enrolment.secret) }).generate({ timestamp });
  if (!(await totp.confirmEnrolment(account, 'bench', enrolment.sealed, codeAt(now))).ok) throw new Error('enrolment failed');

  /** Mean milliseconds of `run`, one at a time, after a few warm-up calls. */
  async function timed(iterations: number, run: (index: number) => Promise<void> | void): Promise<number> {
    for (let index = 0; index < 3; index++) await run(-1 - index);
    const started = performance.now();
    for (let index = 0; index < iterations; index++) await run(index);
    return (performance.now() - started) / iterations;
  }

  // Each verification at a new time step (the clock moves on 30 s): every one is a first use, accepted.
  const verifyMs = await timed(ITERATIONS, async () => {
    now += 30_000;
    const verdict = await totp.verify({ account, stepId: 'bench', form: { code: codeAt(now) } });
    if (!verdict.ok) throw new Error(`verification refused: ${verdict.reason}`);
  });
  const bareTotp = new TOTP({ secret: Secret.fromBase32(enrolment.secret) });
  const bareMs = await timed(ITERATIONS * 10, () => {
    if (bareTotp.validate({ token: codeAt(now), timestamp: now, window: 1 }) === null) throw new Error('bare check failed');
  });
  const hasher = new PasswordHasher(config.argon2);
  const hash = await hasher.hash(PASSWORD);
  const argon2Ms = await timed(PASSWORD_ITERATIONS, async () => {
    if (!(await hasher.verify(hash, PASSWORD)).valid) throw new Error('argon2 verify failed');
  });
  const round = (value: number) => Math.round(value * 1000) / 1000;
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'TOTP verification per sign-in',
        database: 'sqlite',
        argon2: config.argon2,
        iterations: { totp: ITERATIONS, argon2id: PASSWORD_ITERATIONS },
        msPerTotpVerification: round(verifyMs),
        msPerBareTotpCheck: round(bareMs),
        msPerArgon2idVerification: round(argon2Ms),
        totpToArgon2idRatio: round(verifyMs / argon2Ms),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await stores.close();
  rmSync(folder, { recursive: true, force: true });
}
