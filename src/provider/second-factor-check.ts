// Asks for the sign-in again, to add a second factor, when the session was made without one and this authorization
// needs one: the instance asked for it (`acr_values` naming ACR_MFA: step-up), or a policy requires it of this account
// here (src/mfa/mfa-policy.ts). The sign-in page sees the reason SECOND_FACTOR_REASON and asks for the factor only
// (src/interactions/second-factor-step.ts), or walks an account that has none through enrolment.
import { interactionPolicy } from 'oidc-provider';
import type { Config } from '../../config/index.js';
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import { ADMIN_SCOPE, type InstanceStore } from '../instances/instance-store.js';
import { ACR_MFA } from '../mfa/assurance.js';
import { mfaRequired } from '../mfa/mfa-policy.js';
import { CONSOLE_CLIENT_ID } from './console-client.js';
import { rethrowForProvider } from './store-unavailable.js';

export const SECOND_FACTOR_REASON = 'second_factor_required';

/** Whether `acr_values` (space-separated, in order of preference) asks for a second factor. */
export function asksForMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}

export interface DemandDependencies {
  instances: InstanceStore;
  config: Config;
}

/**
 * Whether a sign-in of `account` for the client `clientId`, with these authorization parameters, must be made with a
 * second factor: asked for by `acr_values`, or required by MFA_REQUIRED_FOR_ADMINS or the instance's `mfa` policy.
 */
export async function secondFactorDemanded(
  { instances, config }: DemandDependencies,
  account: Account,
  clientId: string,
  params: Record<string, unknown>,
): Promise<boolean> {
  if (asksForMfa(params.acr_values)) return true;
  const isConsole = clientId === CONSOLE_CLIENT_ID;
  const instance = isConsole ? null : await instances.findByClientId(clientId);
  if (!isConsole && !instance) return false;
  const access = instance ? await instances.accessOf(instance.id, account.id) : null;
  const scopes = typeof params.scope === 'string' ? params.scope.split(' ') : [];
  return mfaRequired({ account, requiredForAdmins: config.mfaRequiredForAdmins, instance, access, scopes, adminScope: ADMIN_SCOPE });
}

export function secondFactorCheck(accounts: AccountStore, instances: InstanceStore, config: Config): interactionPolicy.Check {
  return new interactionPolicy.Check(SECOND_FACTOR_REASON, 'this request needs a sign-in with a second factor', 'login_required', async (ctx) => {
    const accountId = ctx.oidc.session?.accountId;
    const clientId = ctx.oidc.client?.clientId;
    if (!accountId || !clientId || ctx.oidc.session?.acr === ACR_MFA) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    const demanded = async () => {
      const account = await accounts.find(accountId);
      return account !== null && (await secondFactorDemanded({ instances, config }, account, clientId, ctx.oidc.params ?? {}));
    };
    return (await demanded().catch(rethrowForProvider)) ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  });
}
