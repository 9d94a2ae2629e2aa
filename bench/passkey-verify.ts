// What a passkey costs a sign-in on the server: its whole check of one answer (PasskeyCeremonies: a challenge issued
// into the shared store and taken back, the passkey looked up, the signature verified, the counter moved) against what
// a password sign-in spends on its check instead (one argon2id verification at the configured default cost), each
// measured one at a time in alternating rounds of the same run, on the embedded SQLite and on PostgreSQL + Redis. The
// library's signature check alone (verifyAuthenticationResponse, CPU only) is given too. The answers come from a
// software authenticator (test/support/software-authenticator.ts); signing them is the browser's work and is not timed.
// Run alone: `npx tsx bench/passkey-verify.ts`; prints one JSON document on stdout.
//
// Environment (all optional): BENCH_PASSKEY_ROUNDS (4 of each), BENCH_PASSKEY_ROUND_SECONDS (3). PostgreSQL and Redis
// as the tests find them (TEST_POSTGRES_URL, TEST_REDIS_URL).
import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import { loadConfig } from '../config/index.js';
import type { PasskeyCeremonies } from '../src/accounts/passkey-ceremonies.js';
import { createLogger } from '../src/logger.js';
import { startServices, type Services } from '../src/services.js';
import { REDIS_URL, scratchPostgres, scratchSqlite, type ScratchDatabase } from '../test/support/databases.js';
import { SoftwareAuthenticator } from '../test/support/software-authenticator.js';

const ROUNDS = Number(process.env.BENCH_PASSKEY_ROUNDS ?? 4);
const ROUND_SECONDS = Number(process.env.BENCH_PASSKEY_ROUND_SECONDS ?? 3);
const PASSWORD = 'correct horse battery staple';
const ISSUER = 'http://localhost:3001';

const log = (message: string) => process.stderr.write(`[passkey-verify] ${message}\n`);
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** Milliseconds per operation: `operation` run one at a time for ROUND_SECONDS, only its `timed` part counted. */
async function msPerOperation(operation: (timed: <T>(work: () => Promise<T>) => Promise<T>) => Promise<void>): Promise<number> {
  const deadline = Date.now() + ROUND_SECONDS * 1000;
  let spent = 0;
  let done = 0;
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      spent += performance.now() - started;
    }
  };
  while (Date.now() < deadline) {
    await operation(timed);
    done++;
  }
  return spent / done;
}

async function measure(name: string, database: ScratchDatabase, redisUrl?: string) {
  const config = loadConfig({
    ...database.env,
    ...(redisUrl ? { AUTH_REDIS_URL: redisUrl } : {}),
    AUTH_SECRET_KEY: 'chillfi3-auth-bench-secret-0123456789abcdef',
    AUTH_ISSUER: ISSUER,
    LOG_LEVEL: 'warn',
  });
  const services: Services = await startServices(config, createLogger(config.logLevel), { schema: 'migrate' });
  try {
    const ceremonies = services.passkeyCeremonies as PasskeyCeremonies;
    const { id: rpId, origin } = ceremonies.relyingParty;
    const passwordHash = await services.hasher.hash(PASSWORD);
    const account = await services.accounts.create({ username: `bench-${name.replace(/\W/g, '-')}`, passwordHash });
    const authenticator = new SoftwareAuthenticator();
    await services.passkeys.add({
      accountId: account.id,
      credentialId: authenticator.credentialId,
      publicKey: authenticator.publicKey,
      counter: 0,
      transports: ['internal'],
      backedUp: false,
      name: 'Bench key',
    });
    let counter = 0;
    let binding = 0;

    const passkey = () =>
      msPerOperation(async (timed) => {
        const key = `bench:${binding++}`;
        const { challenge } = await timed(() => ceremonies.authenticationOptions(key));
        const answer = authenticator.assertion({ challenge, origin, rpId, counter: ++counter });
        const check = await timed(() => ceremonies.authenticate(key, answer));
        if (!check.ok) throw new Error(`the passkey was refused: ${check.reason}`);
      });
    const password = () =>
      msPerOperation(async (timed) => {
        const check = await timed(() => services.hasher.verify(passwordHash, PASSWORD));
        if (!check.valid) throw new Error('the password was refused');
      });
    const libraryOnly = () =>
      msPerOperation(async (timed) => {
        const challenge = Buffer.from(`${binding++}`).toString('base64url');
        const response = JSON.parse(authenticator.assertion({ challenge, origin, rpId, counter: 1 })) as AuthenticationResponseJSON;
        const credential = { id: authenticator.credentialId, publicKey: new Uint8Array(Buffer.from(authenticator.publicKey, 'base64url')), counter: 0 };
        const { verified } = await timed(() =>
          verifyAuthenticationResponse({ response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: rpId, credential, requireUserVerification: true }),
        );
        if (!verified) throw new Error('the library refused the answer');
      });

    log(`${name}: warming up`);
    await passkey();
    await password();
    const results = { passkey: [] as number[], password: [] as number[], library: [] as number[] };
    for (let index = 0; index < ROUNDS; index++) {
      // Alternating which goes first, so that drift over the run falls on both alike.
      const order = index % 2 === 0 ? (['passkey', 'password', 'library'] as const) : (['password', 'library', 'passkey'] as const);
      for (const which of order) results[which].push(await { passkey, password, library: libraryOnly }[which]());
      log(`${name} round ${index + 1}: passkey ${results.passkey.at(-1)?.toFixed(2)} ms, argon2id ${results.password.at(-1)?.toFixed(2)} ms`);
    }
    return {
      stores: name,
      passkeyCheckMs: round3(mean(results.passkey)),
      argon2idVerifyMs: round3(mean(results.password)),
      librarySignatureCheckMs: round3(mean(results.library)),
      ratioPasskeyToPassword: round3(mean(results.passkey) / mean(results.password)),
      rounds: { passkeyCheckMs: results.passkey.map(round3), argon2idVerifyMs: results.password.map(round3) },
      argon2: config.argon2,
    };
  } finally {
    await services.close();
    await database.drop();
  }
}

const embedded = await measure('SQLite (embedded)', await scratchSqlite());
const shared = await measure('PostgreSQL + Redis', await scratchPostgres(), REDIS_URL);
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: 'server-side cost of one passkey check vs. one password check (argon2id), one at a time',
      setup: {
        rounds: ROUNDS,
        roundSeconds: ROUND_SECONDS,
        passkeyCheck: 'authenticationOptions (challenge into the shared store) + authenticate (challenge taken, passkey found, ES256 signature verified, counter moved)',
        baseline: 'PasswordHasher.verify of the right password at the configured default argon2id cost, in the same run',
      },
      results: [embedded, shared],
    },
    null,
    2,
  )}\n`,
);
