// The sign-in's second step: after a right password, an account with a second factor (or one a policy or the
// instance's acr_values demands) answers with one of its factors before the login interaction finishes; one that must
// have a factor and has none enrols an authenticator app right there (and gets its recovery codes), never locked out.
// A step-up (the session exists, only the factor is missing: SECOND_FACTOR_REASON) skips the password.
//
// Every kind registered in SecondFactors is offered the same way (src/mfa/factor-kind.ts): its form from
// views/factors/<kind>.ejs posts to /interaction/<uid>/factor/<kind>. Each answer is counted against the account's
// lockout (the one passwords count against) and the address's sign-in budget before it is judged, and audited.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { Config } from '../../config/index.js';
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { Authenticator } from '../accounts/authenticator.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BadRequest } from '../errors.js';
import { renderView } from '../http/views.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { AMR_PASSWORD, multiFactorAmr } from '../mfa/assurance.js';
import { RECOVERY_KIND } from '../mfa/recovery-codes.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import type { TotpFactor } from '../mfa/totp-factor.js';
import { SECOND_FACTOR_REASON, secondFactorDemanded } from '../provider/second-factor-check.js';
import type { LoginRateLimit } from '../security/login-rate-limit.js';
import type { SecondFactorSteps, PendingSecondFactor } from './second-factor-state.js';
import { finishLogin, requestFacts, type FinishLoginDependencies } from './sign-in-outcome.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface SecondFactorStepDependencies extends FinishLoginDependencies {
  authenticator: Authenticator;
  accounts: AccountStore;
  audit: AuditLog;
  instances: InstanceStore;
  loginRateLimit: LoginRateLimit;
  secondFactors: SecondFactors;
  totp: TotpFactor;
  secondFactorSteps: SecondFactorSteps;
  config: Config;
}

/** What the step tells the user of a refused answer: nothing about why (wrong, replayed, malformed). */
const NOT_ACCEPTED = 'That code was not accepted. Check it and try again with the code shown now.';
const LOCKED = 'Too many wrong codes: this account is locked for a while. Try again later.';

function html(ctx: Context, body: string): void {
  ctx.status = 200;
  ctx.type = 'html';
  ctx.body = body;
}

export function secondFactorStep(deps: SecondFactorStepDependencies) {
  const { provider, authenticator, accounts, audit, instances, loginRateLimit, secondFactors, totp, secondFactorSteps: steps } = deps;

  async function clientNameOf(details: Details): Promise<string> {
    const client = await provider.Client.find(details.params.client_id as string);
    return client?.clientName ?? 'an application';
  }

  async function renderChallenge(ctx: Context, details: Details, account: Account, error?: string): Promise<void> {
    const kinds = await secondFactors.availableKinds(account);
    const forms = await Promise.all(
      kinds.map(async (kind) => ({
        kind: kind.kind,
        label: kind.label,
        primary: kind.primary,
        action: `/interaction/${details.uid}/factor/${kind.kind}`,
        locals: await kind.challenge({ account, stepId: details.uid }),
      })),
    );
    html(
      ctx,
      await renderView('second-factor', {
        title: 'Second step',
        clientName: await clientNameOf(details),
        username: account.username,
        forms,
        error,
        abortUrl: `/interaction/${details.uid}/abort`,
      }),
    );
  }

  async function renderEnrolment(ctx: Context, details: Details, account: Account, error?: string): Promise<void> {
    const enrolment = await totp.startEnrolment(account, details.uid);
    html(
      ctx,
      await renderView('mfa-enrol', {
        title: 'Set up an authenticator app',
        clientName: await clientNameOf(details),
        username: account.username,
        qrCode: enrolment.qrCode,
        secret: enrolment.secret,
        sealed: enrolment.sealed,
        action: `/interaction/${details.uid}/enrol`,
        abortUrl: `/interaction/${details.uid}/abort`,
        error,
      }),
    );
  }

  async function renderVerified(ctx: Context, details: Details, notice: { recoveryCodes?: string[]; remaining?: number }): Promise<void> {
    html(
      ctx,
      await renderView('mfa-done', {
        title: notice.recoveryCodes ? 'Your recovery codes' : notice.remaining === undefined ? 'Second step done' : 'Recovery code accepted',
        clientName: await clientNameOf(details),
        ...notice,
        action: `/interaction/${details.uid}/continue`,
      }),
    );
  }

  /** The account of a step in progress, still able to sign in; the step ends otherwise. */
  async function accountOf(uid: string, pending: PendingSecondFactor): Promise<Account> {
    const account = await accounts.find(pending.accountId);
    if (account && !account.disabled) return account;
    await steps.end(uid);
    throw new BadRequest('this sign-in can no longer go on: start it again');
  }

  async function pendingStep(details: Details): Promise<{ pending: PendingSecondFactor; account: Account }> {
    if (details.prompt.name !== 'login') throw new BadRequest('this sign-in step is already done');
    const pending = await steps.find(details.uid);
    if (!pending) throw new BadRequest('sign in with your password first');
    return { pending, account: await accountOf(details.uid, pending) };
  }

  /** Whether this account signs in with a second step here: it has a factor, or one is demanded. */
  async function needsStep(account: Account, details: Details): Promise<{ needed: boolean; mustEnrol: boolean }> {
    if (await secondFactors.hasFactor(account)) return { needed: true, mustEnrol: false };
    const demanded = await secondFactorDemanded(deps, account, details.params.client_id as string, details.params);
    return { needed: demanded, mustEnrol: demanded };
  }

  return {
    needsStep,

    /** After a right password: starts the step (and shows it, 303) or finishes the login with the password alone. */
    async afterPassword(ctx: Context, details: Details, account: Account, step: { needed: boolean; mustEnrol: boolean }): Promise<void> {
      if (!step.needed) return finishLogin(deps, ctx, account, [AMR_PASSWORD]);
      await steps.begin(details.uid, { accountId: account.id, mustEnrol: step.mustEnrol });
      ctx.status = 303;
      ctx.redirect(`/interaction/${details.uid}`);
    },

    /** The interaction page, when it is this step's: true when it answered. A step-up starts here, from the session. */
    async show(ctx: Context, details: Details): Promise<boolean> {
      if (details.prompt.name !== 'login') return false;
      let pending = await steps.find(details.uid);
      const stepUp = details.prompt.reasons.length > 0 && details.prompt.reasons.every((reason) => reason === SECOND_FACTOR_REASON);
      const sessionAccount = details.session?.accountId;
      if (!pending && stepUp && sessionAccount) {
        const account = await accounts.find(sessionAccount);
        if (!account || account.disabled) return false;
        pending = { accountId: account.id, mustEnrol: !(await secondFactors.hasFactor(account)) };
        await steps.begin(details.uid, pending);
      }
      if (!pending) return false;
      const account = await accountOf(details.uid, pending);
      if (pending.verifiedAmr) await renderVerified(ctx, details, {});
      else if (pending.mustEnrol) await renderEnrolment(ctx, details, account);
      else await renderChallenge(ctx, details, account);
      return true;
    },

    routes(router: Router, form: Middleware): void {
      router.post('/factor/:kind', form, async function answerSecondFactor(ctx) {
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        const { pending, account } = await pendingStep(details);
        if (pending.mustEnrol || pending.verifiedAmr) throw new BadRequest('this sign-in step is already done');
        const kind = secondFactors.kind(ctx.params.kind ?? '');
        if (!kind || !(await kind.available(account))) throw new BadRequest('this account has no such second factor');
        const clientId = details.params.client_id as string;
        const facts = await requestFacts(ctx, instances, clientId);
        await loginRateLimit.reserve(ctx.ip);
        let verdict;
        try {
          // Counted before it is judged, as a password is: parallel guesses cannot outrun the lockout.
          if (!(await authenticator.reserveAttempt(account.id))) {
            await audit.record({ action: 'mfa.failed', outcome: 'failure', accountId: account.id, details: { kind: kind.kind, reason: 'locked', client_id: clientId }, ...facts });
            return renderChallenge(ctx, details, account, LOCKED);
          }
          verdict = await kind.verify({ account, stepId: details.uid, form: (ctx.request.body ?? {}) as Record<string, unknown> });
        } catch (error) {
          // No verdict (a store failed): the address's point goes back, as for a password.
          await loginRateLimit.release(ctx.ip).catch(() => undefined);
          throw error;
        }
        if (!verdict.ok) {
          await audit.record({
            action: 'mfa.failed',
            outcome: 'failure',
            accountId: account.id,
            details: { kind: kind.kind, reason: verdict.reason, client_id: clientId, ...(verdict.factorId ? { factor_id: verdict.factorId } : {}) },
            ...facts,
          });
          return renderChallenge(ctx, details, account, NOT_ACCEPTED);
        }
        await loginRateLimit.release(ctx.ip);
        await authenticator.finishSignIn(account.id);
        const amr = multiFactorAmr(verdict.amr);
        const action = kind.kind === RECOVERY_KIND ? 'mfa.recovery_code_used' : 'mfa.verified';
        await audit.record({
          action,
          outcome: 'success',
          accountId: account.id,
          details: { kind: kind.kind, client_id: clientId, ...(verdict.factorId ? { factor_id: verdict.factorId } : {}), ...verdict.details },
          ...facts,
        });
        await audit.record({ action: 'login', outcome: 'success', accountId: account.id, details: { client_id: clientId, amr: amr.join(' ') }, ...facts });
        if (kind.kind === RECOVERY_KIND) {
          // The user is told how many codes are left before going on.
          await steps.begin(details.uid, { ...pending, verifiedAmr: amr });
          return renderVerified(ctx, details, { remaining: Number(verdict.details?.remaining ?? 0) });
        }
        await steps.end(details.uid);
        await finishLogin(deps, ctx, account, amr);
      });

      router.post('/enrol', form, async function enrolAtSignIn(ctx) {
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        const { pending, account } = await pendingStep(details);
        if (!pending.mustEnrol || pending.verifiedAmr) throw new BadRequest('this sign-in step is already done');
        const body = (ctx.request.body ?? {}) as Record<string, unknown>;
        const clientId = details.params.client_id as string;
        const facts = await requestFacts(ctx, instances, clientId);
        const result = await totp.confirmEnrolment(account, details.uid, body.enrolment, body.code);
        if (!result.ok) {
          await audit.record({ action: 'mfa.failed', outcome: 'failure', accountId: account.id, details: { kind: totp.kind, reason: result.reason, enrolment: true, client_id: clientId }, ...facts });
          return renderEnrolment(ctx, details, account, NOT_ACCEPTED);
        }
        const recoveryCodes = await secondFactors.recoveryCodes.generate(account.id);
        await authenticator.finishSignIn(account.id);
        const amr = multiFactorAmr(['otp']);
        await audit.record({ action: 'mfa.enrolled', outcome: 'success', accountId: account.id, details: { kind: totp.kind, factor_id: result.factorId, at_sign_in: true }, ...facts });
        await audit.record({ action: 'mfa.recovery_codes_generated', outcome: 'success', accountId: account.id, details: { count: recoveryCodes.length }, ...facts });
        await audit.record({ action: 'login', outcome: 'success', accountId: account.id, details: { client_id: clientId, amr: amr.join(' ') }, ...facts });
        await steps.begin(details.uid, { ...pending, mustEnrol: false, verifiedAmr: amr });
        await renderVerified(ctx, details, { recoveryCodes });
      });

      router.post('/continue', form, async function continueSignIn(ctx) {
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        const { pending, account } = await pendingStep(details);
        if (!pending.verifiedAmr) throw new BadRequest('answer the second step first');
        await steps.end(details.uid);
        await finishLogin(deps, ctx, account, pending.verifiedAmr);
      });
    },
  };
}
