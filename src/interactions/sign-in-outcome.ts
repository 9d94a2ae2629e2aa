// How a sign-in on the login page ends, whatever proved who the person is (a password, a passkey, a second factor):
// the same audit entry, metric, new-browser notice and finish of the provider's login interaction, so every way in
// meets the same checks after it (the provider's login policy: a disabled or deleted account, access to an
// invite-only instance) and leaves the same trail.
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { Account } from '../accounts/account-entity.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { KnownBrowsers } from '../mail/known-browsers.js';
import { ACR_MFA, ACR_PASSWORD } from '../mfa/assurance.js';
import { passkeySignIns, signIns } from '../metrics/metrics.js';

/** What finishing a login needs: the provider, and the sign-in-from-a-new-browser notice. */
export interface FinishLoginDependencies {
  provider: Provider;
  knownBrowsers: KnownBrowsers;
  accountMail: AccountMail;
}

export interface SignInOutcomeDependencies extends FinishLoginDependencies {
  audit: AuditLog;
  instances: InstanceStore;
}

/** How the person proved who they are; `password` is the default and is not written into the audit entry. */
export type SignInMethod = 'password' | 'passkey';

/** The login interaction being answered (what provider.interactionDetails returned). */
type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** What every sign-in audit entry says of the request: the instance asked for (by id), the address, the user agent. */
export async function requestFacts(ctx: Context, instances: InstanceStore, clientId: string) {
  const instance = await instances.findByClientId(clientId);
  return { instanceId: instance?.id ?? null, ip: ctx.ip, userAgent: ctx.get('user-agent') };
}

function methodDetails(method: SignInMethod): Record<string, string> {
  return method === 'password' ? {} : { method };
}

/** A refused sign-in: counted and audited (`reason` as the account page and the audit trail read it). */
export async function recordRefusedSignIn(
  deps: SignInOutcomeDependencies,
  ctx: Context,
  interaction: Interaction,
  refusal: { reason: string; accountId?: string | undefined; method: SignInMethod; detail?: string | undefined },
): Promise<void> {
  (refusal.method === 'passkey' ? passkeySignIns : signIns).inc({ outcome: refusal.reason });
  const clientId = interaction.params.client_id as string;
  await deps.audit.record({
    action: 'login',
    outcome: 'failure',
    accountId: refusal.accountId,
    details: { reason: refusal.reason, client_id: clientId, ...methodDetails(refusal.method), ...(refusal.detail ? { detail: refusal.detail } : {}) },
    ...(await requestFacts(ctx, deps.instances, clientId)),
  });
}

/**
 * A sign-in that proved the account: counted, audited, and the provider's login interaction finished for it, with
 * the authentication methods (RFC 8176 `amr`) the tokens will carry and the acr they make (finishLogin).
 */
export async function completeSignIn(
  deps: SignInOutcomeDependencies,
  ctx: Context,
  interaction: Interaction,
  account: Account,
  { method, amr }: { method: SignInMethod; amr: string[] },
): Promise<void> {
  (method === 'passkey' ? passkeySignIns : signIns).inc({ outcome: 'success' });
  const clientId = interaction.params.client_id as string;
  await deps.audit.record({
    action: 'login',
    outcome: 'success',
    accountId: account.id,
    details: { client_id: clientId, ...methodDetails(method), amr: amr.join(' ') },
    ...(await requestFacts(ctx, deps.instances, clientId)),
  });
  await finishLogin(deps, ctx, account, amr);
}

/**
 * Finishes the login prompt as `account`, signed in with `amr` (the session's, and every token's after it). The
 * browser is remembered first (its cookie must go out with the provider's redirect), and an account that asked for it
 * is mailed when this browser is new to it.
 */
export async function finishLogin(deps: FinishLoginDependencies, ctx: Context, account: Account, amr: string[]): Promise<void> {
  const knownBrowser = deps.knownBrowsers.remember(ctx, account.id);
  if (!knownBrowser && account.signInNotices) {
    await deps.accountMail.notice(account, 'new_browser_sign_in', { ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
  }
  const acr = amr.includes(ACR_MFA) ? ACR_MFA : ACR_PASSWORD;
  await deps.provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: account.id, amr, acr } }, { mergeWithLastSubmission: false });
}
