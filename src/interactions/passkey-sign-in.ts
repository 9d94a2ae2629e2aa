// ★ Passkey-first sign-in on the login page: the page's script asks for options (a challenge bound to this login
// interaction), the browser lets the person pick a passkey of this server (from the username field's autofill where
// the browser offers it, or from the "Sign in with a passkey" button), and posts the answer as a form. A verified,
// user-verified answer with a counter that moved forward signs in the account it belongs to, through the same
// account checks (lockout, disabled) and the same finish (sign-in-outcome.ts) as a password.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Authenticator } from '../accounts/authenticator.js';
import { passkeyKeyAmr, type PasskeyCeremonies, type PasskeyCheck } from '../accounts/passkey-ceremonies.js';
import { BadRequest } from '../errors.js';
import { AMR_MULTIPLE } from '../mfa/assurance.js';
import type { LoginRateLimit } from '../security/login-rate-limit.js';
import { completeSignIn, recordRefusedSignIn, requestFacts, type SignInOutcomeDependencies } from './sign-in-outcome.js';

export interface PasskeySignInDependencies extends SignInOutcomeDependencies {
  ceremonies: PasskeyCeremonies;
  authenticator: Authenticator;
  loginRateLimit: LoginRateLimit;
}

/** Shows the login page again with a problem above the form. */
export type RenderLogin = (ctx: Context, uid: string, clientName: string, extra: { error?: string }, status?: number) => Promise<void>;

/** Every refusal reads the same but an expired request: the page tells nobody more than that this passkey did not do. */
const PASSKEY_FAILED = 'That passkey could not sign you in.';
const PASSKEY_EXPIRED = 'The passkey request expired. Try again.';

/** The interaction's challenge binding: one live passkey challenge per login interaction. */
function bindingOf(uid: string): string {
  return `login:${uid}`;
}

/**
 * RFC 8176 methods of a passkey-first sign-in: the key held, and `mfa`, since the authenticator verified its user
 * (PIN or biometrics) before it signed: two factors, as a password and a second factor are.
 */
export function passkeyFirstAmr(backedUp: boolean): string[] {
  return [passkeyKeyAmr(backedUp), AMR_MULTIPLE];
}

export function addPasskeySignIn(router: Router, form: Middleware, deps: PasskeySignInDependencies, renderLogin: RenderLogin): void {
  const { provider, ceremonies, authenticator, audit, instances, loginRateLimit } = deps;

  async function loginInteraction(ctx: Context) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') throw new BadRequest('this sign-in step is already done');
    return details;
  }

  router.post('/passkey/options', form, async function passkeyOptions(ctx) {
    const details = await loginInteraction(ctx);
    ctx.body = await ceremonies.authenticationOptions(bindingOf(details.uid));
  });

  router.post('/passkey', form, async function passkeySignIn(ctx) {
    const details = await loginInteraction(ctx);
    const client = await provider.Client.find(details.params.client_id as string);
    const clientName = client?.clientName ?? 'an application';
    const answer = (ctx.request.body as Record<string, unknown> | undefined)?.response;

    await loginRateLimit.reserve(ctx.ip);
    let check: PasskeyCheck;
    try {
      check = await ceremonies.authenticate(bindingOf(details.uid), typeof answer === 'string' ? answer : '');
    } catch (error) {
      // No verdict (a store failed): the point goes back, as for a password (routes.ts).
      await loginRateLimit.release(ctx.ip).catch(() => undefined);
      throw error;
    }
    const result = check.ok ? await authenticator.signInVerified(check.passkey.accountId) : null;
    if (!check.ok || !result?.ok) {
      const reason = check.ok ? (result as { reason: string }).reason : check.reason;
      const accountId = check.ok ? check.passkey.accountId : check.passkey?.accountId;
      if (!check.ok && check.reason === 'counter_regressed') {
        await audit.record({
          action: 'passkey.counter_regressed',
          outcome: 'failure',
          accountId,
          details: { passkey_id: check.passkey?.id ?? null, name: check.passkey?.name ?? null, detail: check.detail ?? null },
          ...(await requestFacts(ctx, instances, details.params.client_id as string)),
        });
      }
      await recordRefusedSignIn(deps, ctx, details, { reason, accountId, method: 'passkey', detail: check.ok ? undefined : check.detail });
      return renderLogin(ctx, details.uid, clientName, { error: reason === 'expired_challenge' ? PASSKEY_EXPIRED : PASSKEY_FAILED }, 400);
    }
    await loginRateLimit.release(ctx.ip);
    await completeSignIn(deps, ctx, details, result.account, { method: 'passkey', amr: passkeyFirstAmr(check.passkey.backedUp) });
  });
}
