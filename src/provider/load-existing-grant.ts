import type { Configuration } from 'oidc-provider';
import type { InstanceStore } from '../instances/instance-store.js';
import { CONSOLE_CLIENT_ID } from './console-client.js';
import { resourceOf, USER_RESOURCE_SCOPES } from './resource-servers.js';
import { rethrowForProvider } from './store-unavailable.js';

/** The grant an authorization request continues: the session's own, or for a first-party client one consented for it. */
export function loadExistingGrant(instances: InstanceStore): NonNullable<Configuration['loadExistingGrant']> {
  return async (ctx) => {
    const grantId =
      ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client?.clientId as string);
    const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    const client = ctx.oidc.client;
    const accountId = ctx.oidc.session?.accountId;
    if (!client || !accountId) return existing;
    // The server's own pages and first-party instances: consent is implied, so the grant covers whatever is asked
    // for, now and later.
    const firstParty =
      client.clientId === CONSOLE_CLIENT_ID || (await instances.findByClientId(client.clientId).catch(rethrowForProvider))?.skipConsent;
    if (!firstParty) return existing;
    const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
    const requested = [...(ctx.oidc.requestParamScopes ?? [])].join(' ');
    grant.addOIDCScope(requested);
    grant.addResourceScope(resourceOf(client.clientId), USER_RESOURCE_SCOPES);
    await grant.save();
    return grant;
  };
}
