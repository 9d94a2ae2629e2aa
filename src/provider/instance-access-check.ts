import { interactionPolicy } from 'oidc-provider';
import type { AccountStore } from '../accounts/account-store.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { rethrowForProvider } from './store-unavailable.js';

/**
 * Asks for interaction (which answers access_denied) when the signed-in account may not use an invite-only instance:
 * one without access there, unless it is a server admin (admin wherever it has no role of its own, instance-claims.ts,
 * as an identity provider's administrators are). Links the account as a member of an open one. Runs at every
 * authorization request, with an SSO session too.
 */
export function instanceAccessCheck(accounts: AccountStore, instances: InstanceStore): interactionPolicy.Check {
  return new interactionPolicy.Check(
    'no_instance_access',
    'the signed-in account may not use this instance',
    'access_denied',
    async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (!accountId || !clientId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const instance = await instances.findByClientId(clientId).catch(rethrowForProvider);
      if (!instance) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      if (instance.accessPolicy === 'open') {
        // An open instance takes whoever signs in, as a member, from the first sign-in on.
        await instances.linkMember(instance.id, accountId).catch(rethrowForProvider);
        return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      }
      const [account, access] = await Promise.all([accounts.find(accountId), instances.accessOf(instance.id, accountId)]).catch(
        rethrowForProvider,
      );
      const mayUse = account !== null && (access !== null || account.isAdmin);
      return mayUse ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    },
  );
}
