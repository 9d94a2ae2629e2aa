// The interaction routes oidc-provider sends the browser to: sign in, consent, and abort.
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type { Provider, PromptDetail } from 'oidc-provider';
import type { Authenticator } from '../accounts/authenticator.js';
import type { PasskeyCeremonies } from '../accounts/passkey-ceremonies.js';
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { BadRequest } from '../errors.js';
import { renderView } from '../http/views.js';
import { signIns } from '../metrics/metrics.js';
import type { LoginRateLimit } from '../security/login-rate-limit.js';
import { resourceOf } from '../provider/resource-servers.js';
import { FORGOT_PASSWORD_PATH } from '../web/forgot-password-routes.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { KnownBrowsers } from '../mail/known-browsers.js';
import { addPasskeySignIn } from './passkey-sign-in.js';
import { requestFacts } from './sign-in-outcome.js';
import { secondFactorStep, type SecondFactorStepDependencies } from './second-factor-step.js';

export interface InteractionDependencies extends SecondFactorStepDependencies {
  provider: Provider;
  authenticator: Authenticator;
  accounts: AccountStore;
  audit: AuditLog;
  instances: InstanceStore;
  loginRateLimit: LoginRateLimit;
  /** The sign-in-from-a-new-browser notice: which browsers an account used, and the mail. */
  knownBrowsers: KnownBrowsers;
  accountMail: AccountMail;
  passkeyCeremonies: PasskeyCeremonies | null;
}

const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your username, display name, picture and role',
  email: 'See your email address',
  offline_access: 'Keep you signed in while you are away',
};

/** Every failure reads the same: the page tells nobody whether an account exists, is locked or has no password. */
const SIGN_IN_FAILED = 'Invalid username or password.';

function formField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string') throw new BadRequest(`the form field "${name}" is missing`);
  return value;
}

function html(ctx: Context, body: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = body;
}

export function interactionRoutes(deps: InteractionDependencies): Router {
  const { provider, authenticator, accounts, audit, instances, loginRateLimit, passkeyCeremonies } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const secondStep = secondFactorStep(deps);
  const form = koaBody({
    urlencoded: true,
    json: false,
    multipart: false,
    text: false,
    formLimit: '16kb',
    // The parser's own 4xx (too large, bad charset) passes as it is; anything else it throws (a body that claims a
    // Content-Encoding it does not have fails in zlib, with no status) is the client's unreadable form, not our fault.
    onError: (error) => {
      throw 'status' in error ? error : new BadRequest('the form could not be read', error);
    },
  });

  // Sign-in and consent pages carry a user's name and a live interaction: no cache, shared or private, may keep them.
  router.use(async function noStore(ctx, next) {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  async function renderLogin(ctx: Context, uid: string, clientName: string, extra: { username?: string; error?: string } = {}, status = 200) {
    html(
      ctx,
      await renderView('login', {
        title: 'Sign in',
        uid,
        clientName,
        action: `/interaction/${uid}/login`,
        abortUrl: `/interaction/${uid}/abort`,
        forgotUrl: `${FORGOT_PASSWORD_PATH}?interaction=${encodeURIComponent(uid)}`,
        // Passkey-first sign-in (passkey-sign-in.ts), where the issuer's host can have passkeys.
        passkey: passkeyCeremonies ? { optionsUrl: `/interaction/${uid}/passkey/options`, action: `/interaction/${uid}/passkey` } : undefined,
        ...extra,
      }),
      status,
    );
  }

  router.get('/', async function showInteraction(ctx) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const client = await provider.Client.find(details.params.client_id as string);
    const clientName = client?.clientName ?? 'an application';
    const prompt = details.prompt as PromptDetail;

    if (prompt.name === 'login' && prompt.reasons.includes('no_instance_access')) {
      const result = { error: 'access_denied', error_description: 'this account may not use this instance' };
      const clientId = details.params.client_id as string;
      const facts = await requestFacts(ctx, instances, clientId);
      await audit.record({ action: 'login.denied', outcome: 'failure', accountId: details.session?.accountId, details: { client_id: clientId }, ...facts });
      return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    }
    if (await secondStep.show(ctx, details)) return;
    if (prompt.name === 'login') return renderLogin(ctx, details.uid, clientName);

    const account = await accounts.find(details.session?.accountId as string);
    const missing = prompt.details as { missingOIDCScope?: string[] };
    const scopes = (missing.missingOIDCScope ?? []).map((name) => ({ name, description: SCOPE_DESCRIPTIONS[name] ?? name }));
    html(
      ctx,
      await renderView('consent', {
        title: 'Allow access',
        uid: details.uid,
        clientName,
        username: account?.username ?? '',
        scopes,
        action: `/interaction/${details.uid}/confirm`,
        abortUrl: `/interaction/${details.uid}/abort`,
      }),
    );
  });

  router.post('/login', form, async function signIn(ctx) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') throw new BadRequest('this sign-in step is already done');
    const client = await provider.Client.find(details.params.client_id as string);
    const clientName = client?.clientName ?? 'an application';
    const username = formField(ctx, 'username').trim();
    const password = formField(ctx, 'password');

    await loginRateLimit.reserve(ctx.ip);
    let step = { needed: false, mustEnrol: false };
    const secondStepFor = async (account: Account) => {
      step = await secondStep.needsStep(account, details);
      return step.needed;
    };
    const result = await authenticator.signIn(username, password, { secondStep: secondStepFor }).catch(async (error: unknown) => {
      // No verdict on the password (the store failed: a 503): the point goes back, as only a refused sign-in may keep
      // it, else an outage would spend the address's budget on correct passwords. The limiter may sit on the store
      // that failed: then the point stays, and the request's own error is still the one answered.
      await loginRateLimit.release(ctx.ip).catch(() => undefined);
      throw error;
    });
    // Given back before anything else may fail: a correct password never spends the budget.
    if (result.ok) await loginRateLimit.release(ctx.ip);
    signIns.inc({ outcome: result.ok ? 'success' : result.reason });
    const clientId = details.params.client_id as string;
    const facts = await requestFacts(ctx, instances, clientId);
    if (!result.ok) {
      await audit.record({
        action: 'login',
        outcome: 'failure',
        accountId: result.account?.id,
        details: { reason: result.reason, client_id: clientId },
        ...facts,
      });
      return renderLogin(ctx, details.uid, clientName, { username, error: SIGN_IN_FAILED });
    }
    // With a second step to come, the sign-in is audited when it is done (src/interactions/second-factor-step.ts).
    if (!step.needed) {
      await audit.record({
        action: 'login',
        outcome: 'success',
        accountId: result.account.id,
        details: { client_id: clientId, amr: 'pwd' },
        ...facts,
      });
    }
    await secondStep.afterPassword(ctx, details, result.account, step);
  });

  if (passkeyCeremonies) addPasskeySignIn(router, form, { ...deps, ceremonies: passkeyCeremonies }, renderLogin);
  secondStep.routes(router, form);

  router.post('/confirm', form, async function confirm(ctx) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'consent') throw new BadRequest('there is nothing to allow in this step');
    const { accountId } = details.session ?? {};
    const clientId = details.params.client_id as string;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId });
    if (!grant) throw new BadRequest('the grant of this sign-in has expired');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      if (resource === resourceOf(clientId)) grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await audit.record({ action: 'consent', outcome: 'success', accountId, details: { client_id: clientId }, ...(await requestFacts(ctx, instances, clientId)) });
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  router.get('/abort', async function abort(ctx) {
    await provider.interactionDetails(ctx.req, ctx.res);
    const result = { error: 'access_denied', error_description: 'the user cancelled the sign-in' };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  });

  return router;
}
