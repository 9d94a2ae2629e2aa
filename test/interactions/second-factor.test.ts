import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';
import { addAccount, addInstance, authorizationRequest, PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { BrowserAgent, formAction, hiddenInputs, type Page } from '../support/browser-agent.js';
import { enrolTotp, submitForm, TestClock, totpCode } from '../support/mfa.js';

/** A browser's authorization request, with extra parameters (acr_values, max_age), up to the first page. */
async function startSignIn(client: oidc.Configuration, agent: BrowserAgent, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(client);
  const url = new URL(request.url);
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
  return { ...request, page: await agent.open(url.toString(), {}, REDIRECT_URI) };
}

async function redeem(client: oidc.Configuration, page: Page, request: { verifier: string; state: string }) {
  expect(page.status, `reached the instance: ${page.body.slice(0, 300)}`).to.equal(0);
  return oidc.authorizationCodeGrant(client, new URL(page.url), { pkceCodeVerifier: request.verifier, expectedState: request.state });
}

for (const backend of BACKENDS) {
  const tag = backend.replace('+', '-');
  describe(`second-factor sign-in step (${backend})`, function () {
    this.timeout(30_000);
    let server: TestServer;
    const clock = new TestClock();
    before(async function () {
      server = await startTestServer(backend, { MAX_LOGIN_ATTEMPTS: '5', LOCKOUT_DURATION: '300' }, { clock: clock.read });
    });
    after(() => server.close());

    it('asks an account with an authenticator app for a code after its password, and issues amr/acr in every token', async function () {
      const account = await addAccount(server, `totp-${tag}`);
      const secret = await enrolTotp(server, account);
      const [stored] = (await server.services.dataSource.query(`SELECT secret_sealed FROM second_factors WHERE account_id = '${account.id}'`)) as { secret_sealed: string }[];
      expect(stored!.secret_sealed, 'sealed at rest (compact JWE)').to.match(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/).and.not.contain(secret);
      clock.nextPeriod();
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const request = await startSignIn(client, agent);
      const step = await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI);
      expect(step.status).to.equal(200);
      expect(step.body).to.contain('Second step').and.contain('name="code"');
      const done = await submitForm(agent, step, { code: totpCode(secret, clock.now) }, REDIRECT_URI);
      const tokens = await redeem(client, done, request);
      expect(tokens.claims()).to.include({ acr: 'mfa' });
      expect(tokens.claims()?.amr).to.deep.equal(['pwd', 'otp', 'mfa']);
      const access = decodeJwt(tokens.access_token);
      expect(access.amr).to.deep.equal(['pwd', 'otp', 'mfa']);
      expect(access.acr).to.equal('mfa');
      const refreshed = await oidc.refreshTokenGrant(client, tokens.refresh_token!);
      expect(decodeJwt(refreshed.access_token)).to.deep.include({ acr: 'mfa', amr: ['pwd', 'otp', 'mfa'] });
      const events = await server.services.audit.recent(10);
      expect(events.some((event) => event.action === 'mfa.verified' && event.accountId === account.id)).to.equal(true);
    });

    it('issues amr pwd and acr pwd for a password-only sign-in, in the ID and the access token', async function () {
      const account = await addAccount(server, `pwd-${tag}`);
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const request = await startSignIn(client, agent);
      const tokens = await redeem(client, await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI), request);
      expect(tokens.claims()).to.deep.include({ acr: 'pwd', amr: ['pwd'] });
      expect(decodeJwt(tokens.access_token)).to.deep.include({ acr: 'pwd', amr: ['pwd'] });
    });

    it('refuses a code used once already (a replay within its window), and one of another account', async function () {
      const account = await addAccount(server, `replay-${tag}`);
      const other = await addAccount(server, `other-${tag}`);
      const secret = await enrolTotp(server, account);
      const otherSecret = await enrolTotp(server, other);
      clock.nextPeriod();
      const { client } = await addInstance(server);
      const code = totpCode(secret, clock.now);
      const first = new BrowserAgent();
      const firstRequest = await startSignIn(client, first);
      const firstStep = await first.signIn(firstRequest.page, account.username, PASSWORD, REDIRECT_URI);
      await redeem(client, await submitForm(first, firstStep, { code }, REDIRECT_URI), firstRequest);

      const second = new BrowserAgent();
      const secondRequest = await startSignIn(client, second);
      const secondStep = await second.signIn(secondRequest.page, account.username, PASSWORD, REDIRECT_URI);
      const replayed = await submitForm(second, secondStep, { code }, REDIRECT_URI);
      expect(replayed.status).to.equal(200);
      expect(replayed.body).to.contain('That code was not accepted');
      const foreign = await submitForm(second, replayed, { code: totpCode(otherSecret, clock.now) }, REDIRECT_URI);
      expect(foreign.body).to.contain('That code was not accepted');
      const events = await server.services.audit.recent(10);
      expect(events.find((event) => event.action === 'mfa.failed' && event.accountId === account.id)?.details).to.include({ reason: 'wrong_code' });
      expect(events.some((event) => event.action === 'mfa.failed' && event.details?.reason === 'replayed')).to.equal(true);
    });

    it('accepts one of 20 parallel posts of the same right code', async function () {
      const account = await addAccount(server, `race-${tag}`);
      const secret = await enrolTotp(server, account);
      clock.nextPeriod();
      const { client } = await addInstance(server);
      const code = totpCode(secret, clock.now);
      const steps = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const agent = new BrowserAgent();
          const request = await startSignIn(client, agent);
          return { agent, step: await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI) };
        }),
      ).catch((error: unknown) => {
        throw error;
      });
      await server.services.accounts.recordSuccessfulLogin(account.id);
      const answers = await Promise.all(steps.map(({ agent, step }) => submitForm(agent, step, { code }, REDIRECT_URI)));
      expect(answers.filter((page) => page.status === 0)).to.have.length(1);
    });

    it('counts codes toward the password lockout: of 20 parallel guesses at most MAX_LOGIN_ATTEMPTS are judged', async function () {
      const account = await addAccount(server, `guess-${tag}`);
      const secret = await enrolTotp(server, account);
      clock.nextPeriod();
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const request = await startSignIn(client, agent);
      const step = await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI);
      const right = totpCode(secret, clock.now);
      const guesses = Array.from({ length: 20 }, (_, index) => String((Number(right) + 1 + index) % 1_000_000).padStart(6, '0'));
      const answers = await Promise.all(guesses.map((code) => submitForm(agent, step, { code }, REDIRECT_URI)));
      expect(answers.every((page) => page.status === 200)).to.equal(true);
      const events = (await server.services.audit.recent(50)).filter((event) => event.action === 'mfa.failed' && event.accountId === account.id);
      // The password took one attempt of the five: four guesses judged, the other sixteen refused as locked.
      expect(events.filter((event) => event.details?.reason === 'wrong_code')).to.have.length(4);
      expect(events.filter((event) => event.details?.reason === 'locked')).to.have.length(16);
      const locked = await submitForm(agent, step, { code: right }, REDIRECT_URI);
      expect(locked.status, 'the right code is refused while locked').to.equal(200);
      expect(locked.body).to.contain('locked');
      expect((await server.services.accounts.get(account.id)).lockedUntil).to.be.an.instanceOf(Date);
    });

    it('cannot be skipped: consent, continue and the authorization endpoint again all still want the second factor', async function () {
      const account = await addAccount(server, `skip-${tag}`);
      await enrolTotp(server, account);
      const { client } = await addInstance(server, { skipConsent: false });
      const agent = new BrowserAgent();
      const request = await startSignIn(client, agent);
      const step = await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI);
      const uid = /\/interaction\/([^/"]+)\/factor/.exec(step.body)?.[1];
      expect(uid).to.be.a('string');
      for (const path of ['confirm', 'continue', 'enrol']) {
        const page = await agent.open(`${server.issuer}/interaction/${uid}/${path}`, { form: { code: '000000' } }, REDIRECT_URI);
        expect(page.status, path).to.equal(400);
      }
      const again = await agent.open(request.page.url, {}, REDIRECT_URI);
      expect(again.status).to.equal(200);
      expect(again.body).to.contain('Second step');
      const unknownKind = await agent.open(`${server.issuer}/interaction/${uid}/factor/nothing`, { form: { code: '000000' } }, REDIRECT_URI);
      expect(unknownKind.status).to.equal(400);
    });

    it('signs in with a recovery code, says how many are left, and lets one code win of two used at once', async function () {
      const account = await addAccount(server, `recovery-${tag}`);
      await enrolTotp(server, account);
      const codes = await server.services.secondFactors.recoveryCodes.generate(account.id);
      expect(codes).to.have.length(10);
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const request = await startSignIn(client, agent);
      const step = await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI);
      const used = await submitForm(agent, step, { code: codes[0]!.toUpperCase() }, REDIRECT_URI, '/factor/recovery');
      expect(used.body).to.contain('Recovery code accepted');
      expect(/class="recovery-remaining">(\d+)</.exec(used.body)?.[1]).to.equal('9');
      const tokens = await redeem(client, await submitForm(agent, used, {}, REDIRECT_URI), request);
      expect(tokens.claims()?.amr).to.deep.equal(['pwd', 'otp', 'mfa']);

      const racers = await Promise.all(
        [0, 1].map(async () => {
          const browser = new BrowserAgent();
          const started = await startSignIn(client, browser);
          return { browser, step: await browser.signIn(started.page, account.username, PASSWORD, REDIRECT_URI) };
        }),
      );
      const answers = await Promise.all(racers.map(({ browser, step: page }) => submitForm(browser, page, { code: codes[1]! }, REDIRECT_URI, '/factor/recovery')));
      expect(answers.filter((page) => page.body.includes('Recovery code accepted'))).to.have.length(1);
      expect(await server.services.secondFactors.recoveryCodes.remaining(account.id)).to.equal(8);
      const events = await server.services.audit.recent(20);
      expect(events.find((event) => event.action === 'mfa.recovery_code_used' && event.accountId === account.id)?.details).to.include({ remaining: 8 });
    });

    it('walks an account with no factor through enrolment when the instance requires one, never locking it out', async function () {
      const account = await addAccount(server, `enrol-${tag}`);
      const { client } = await addInstance(server, { mfa: 'required' });
      const agent = new BrowserAgent();
      const request = await startSignIn(client, agent);
      const enrol = await agent.signIn(request.page, account.username, PASSWORD, REDIRECT_URI);
      expect(enrol.body).to.contain('Set up an authenticator app');
      const secret = /class="totp-secret">([A-Z2-7]+)</.exec(enrol.body)?.[1];
      expect(secret).to.be.a('string');
      const wrong = await submitForm(agent, enrol, { ...hiddenInputs(enrol.body), code: '000000' }, REDIRECT_URI);
      expect(wrong.body).to.contain('That code was not accepted');
      const fresh = /class="totp-secret">([A-Z2-7]+)</.exec(wrong.body)![1]!;
      const codesPage = await submitForm(agent, wrong, { ...hiddenInputs(wrong.body), code: totpCode(fresh, clock.now) }, REDIRECT_URI);
      expect(codesPage.body).to.contain('Your recovery codes');
      expect([...codesPage.body.matchAll(/<li><code>([a-z2-7-]+)<\/code><\/li>/g)]).to.have.length(10);
      const tokens = await redeem(client, await agent.open(new URL(formAction(codesPage.body), codesPage.url).toString(), { form: {} }, REDIRECT_URI), request);
      expect(tokens.claims()).to.deep.include({ acr: 'mfa', amr: ['pwd', 'otp', 'mfa'] });
      expect(await server.services.secondFactors.hasFactor(account)).to.equal(true);
    });

    it('honours max_age: a stale mfa session asks for the password and the factor again (as the console fresh sign-in does)', async function () {
      const account = await addAccount(server, `maxage-${tag}`);
      const secret = await enrolTotp(server, account);
      clock.nextPeriod();
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const first = await startSignIn(client, agent);
      const step = await agent.signIn(first.page, account.username, PASSWORD, REDIRECT_URI);
      const firstTokens = await redeem(client, await submitForm(agent, step, { code: totpCode(secret, clock.now) }, REDIRECT_URI), first);
      expect((await startSignIn(client, agent)).page.status, 'the session signs in silently').to.equal(0);
      const again = await startSignIn(client, agent, { max_age: '0' });
      expect(again.page.body).to.contain('name="password"');
      clock.nextPeriod();
      const secondStep = await agent.signIn(again.page, account.username, PASSWORD, REDIRECT_URI);
      expect(secondStep.body).to.contain('Second step');
      const tokens = await redeem(client, await submitForm(agent, secondStep, { code: totpCode(secret, clock.now) }, REDIRECT_URI), again);
      expect(tokens.claims()).to.deep.include({ acr: 'mfa', amr: ['pwd', 'otp', 'mfa'] });
      expect(tokens.claims()!.auth_time, 'max_age asks for auth_time').to.be.a('number');
      expect(tokens.claims()!.sid).to.equal(firstTokens.claims()!.sid);
    });

    it('required-for-admins asks the admins of the instance only: a member signs in with the password alone', async function () {
      const member = await addAccount(server, `member-${tag}`);
      const admin = await addAccount(server, `instadmin-${tag}`);
      const { client, instance } = await addInstance(server, { mfa: 'required-for-admins' });
      await server.services.instances.grantAccess(instance.id, admin.id, 'admin');
      const memberAgent = new BrowserAgent();
      const memberRequest = await startSignIn(client, memberAgent);
      const tokens = await redeem(client, await memberAgent.signIn(memberRequest.page, member.username, PASSWORD, REDIRECT_URI), memberRequest);
      expect(tokens.claims()?.acr).to.equal('pwd');
      const adminAgent = new BrowserAgent();
      const adminRequest = await startSignIn(client, adminAgent);
      const enrol = await adminAgent.signIn(adminRequest.page, admin.username, PASSWORD, REDIRECT_URI);
      expect(enrol.body).to.contain('Set up an authenticator app');
    });

    it('steps up on acr_values=mfa: a password-only session is asked for the factor alone', async function () {
      const account = await addAccount(server, `stepup-${tag}`);
      const { client } = await addInstance(server);
      const agent = new BrowserAgent();
      const first = await startSignIn(client, agent);
      const plain = await redeem(client, await agent.signIn(first.page, account.username, PASSWORD, REDIRECT_URI), first);
      expect(plain.claims()?.acr).to.equal('pwd');
      const secret = await enrolTotp(server, account);
      clock.nextPeriod();
      const stepUp = await startSignIn(client, agent, { acr_values: 'mfa' });
      expect(stepUp.page.body).to.contain('Second step').and.not.contain('name="password"');
      const tokens = await redeem(client, await submitForm(agent, stepUp.page, { code: totpCode(secret, clock.now) }, REDIRECT_URI), stepUp);
      expect(tokens.claims()).to.deep.include({ acr: 'mfa', amr: ['pwd', 'otp', 'mfa'] });
      expect(decodeJwt(tokens.access_token)).to.deep.include({ acr: 'mfa' });
      const again = await startSignIn(client, agent, { acr_values: 'mfa' });
      expect(again.page.status, 'an mfa session needs no second step-up').to.equal(0);
    });
  });
}

describe('discovery', function () {
  it('lists acr_values_supported', async function () {
    const server = await startTestServer('sqlite');
    try {
      const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(metadata.acr_values_supported).to.deep.equal(['pwd', 'mfa']);
    } finally {
      await server.close();
    }
  });
});
