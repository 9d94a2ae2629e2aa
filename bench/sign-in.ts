// The browsers of the sign-in benchmark: full sign-ins (authorization request, sign-in page, password form, back to
// the instance with a code) against a running server, BENCH_SIGNIN_CONCURRENCY at a time, one account per browser
// (attempts on one account in flight at once count towards its lockout). Run by bench/run.ts in a process of its own,
// on another core than the server (the browsers' work is not the server's); prints one JSON document on stdout.
//
// Environment: SIGN_IN_ISSUER, SIGN_IN_CLIENT_ID, SIGN_IN_CLIENT_SECRET, SIGN_IN_USERNAMES (comma-separated, one per
// browser), SIGN_IN_PASSWORD; BENCH_DURATION and BENCH_WARMUP (seconds, as bench/run.ts reads them).
import * as oidc from 'openid-client';
import { BrowserAgent } from '../test/support/browser-agent.js';
import { authorizationRequest, REDIRECT_URI } from '../test/support/fixtures.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const issuer = required('SIGN_IN_ISSUER');
const usernames = required('SIGN_IN_USERNAMES').split(',');
const password = required('SIGN_IN_PASSWORD');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);

const client = await oidc.discovery(new URL(issuer), required('SIGN_IN_CLIENT_ID'), required('SIGN_IN_CLIENT_SECRET'), undefined, {
  execute: [oidc.allowInsecureRequests],
});

/** One browser's whole sign-in, to the redirect back to the instance with a code. */
async function signIn(username: string): Promise<void> {
  const agent = new BrowserAgent();
  const { url } = await authorizationRequest(client, 'openid profile');
  const page = await agent.signIn(await agent.open(url, {}, REDIRECT_URI), username, password, REDIRECT_URI);
  if (page.status !== 0 || !new URL(page.url).searchParams.has('code')) throw new Error(`sign-in failed: ${page.status} ${page.url}`);
}

/** Sign-ins completed in `seconds`, one browser per username. */
async function signInsFor(seconds: number): Promise<{ signIns: number; elapsedSeconds: number }> {
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  let signIns = 0;
  await Promise.all(
    usernames.map(async (username) => {
      while (Date.now() < deadline) {
        await signIn(username);
        signIns++;
      }
    }),
  );
  return { signIns, elapsedSeconds: (performance.now() - started) / 1000 };
}

const warmup = await signInsFor(WARMUP);
const measured = await signInsFor(DURATION);
process.stdout.write(
  `${JSON.stringify({
    concurrency: usernames.length,
    signInsPerSecond: Math.round((measured.signIns / measured.elapsedSeconds) * 10) / 10,
    signIns: measured.signIns,
    totalSignIns: warmup.signIns + measured.signIns,
  })}\n`,
);
