// What an account contributes to what the provider issues: the account findAccount hands over with its claims (ID
// tokens, userinfo), the claims added to its access tokens, and which scope releases which claim (docs/claims.md).
import type { Account as OidcAccount, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { instanceClaims, profileClaims, LOCAL_ID_CLAIM, ROLE_CLAIM, type InstanceClaims } from './instance-claims.js';
import { rethrowForProvider } from './store-unavailable.js';

/** The claims each scope releases. */
export const SCOPE_CLAIMS = {
  // acr and amr: how the user signed in (src/mfa/assurance.ts), in every ID token; never in userinfo (no account has them).
  openid: ['sub', 'acr', 'amr'],
  profile: ['preferred_username', 'name', 'picture', 'updated_at', ROLE_CLAIM, LOCAL_ID_CLAIM],
  email: ['email'],
} satisfies Configuration['claims'];

/** The account's role and local id on the instance `clientId` names (nothing when none is named). */
async function claimsOnInstance(
  instances: InstanceStore,
  account: Account,
  clientId: string | undefined,
): Promise<Partial<InstanceClaims>> {
  const instance = clientId ? await instances.findByClientId(clientId) : null;
  return instance ? instanceClaims(account, await instances.accessOf(instance.id, account.id)) : {};
}

export function findAccount(accounts: AccountStore, instances: InstanceStore): NonNullable<Configuration['findAccount']> {
  async function find(ctx: KoaContextWithOIDC, sub: string): Promise<OidcAccount | undefined> {
    const account = await accounts.find(sub);
    if (!account || account.disabled) return undefined;
    const clientId = ctx.oidc.client?.clientId;
    // Read when first asked for (an ID token, userinfo), not at every authorization step that only needs the account.
    let perInstance: Promise<Partial<InstanceClaims>> | undefined;
    return {
      accountId: account.id,
      claims: async () => ({
        ...profileClaims(account),
        ...(await (perInstance ??= claimsOnInstance(instances, account, clientId).catch(rethrowForProvider))),
      }),
    };
  }
  return (ctx, sub) => find(ctx, sub).catch(rethrowForProvider);
}

/**
 * How the user signed in (`amr`, `acr`), for a user's access token: from the authorization code or refresh token being
 * redeemed, which carry the session's as it was at the sign-in (the ID token gets the same from the provider itself).
 */
function signInAssurance(ctx: KoaContextWithOIDC): { amr?: string[]; acr?: string } {
  const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
  if (!source) return {};
  return {
    ...(Array.isArray(source.amr) ? { amr: source.amr } : {}),
    ...(typeof source.acr === 'string' ? { acr: source.acr } : {}),
  };
}

export function extraTokenClaims(accounts: AccountStore, instances: InstanceStore): NonNullable<Configuration['extraTokenClaims']> {
  return async (ctx, token) => {
    if (!('accountId' in token) || typeof token.accountId !== 'string') return undefined;
    const account = await accounts.find(token.accountId).catch(rethrowForProvider);
    if (!account) return undefined;
    return {
      // The session id lets an instance match a back-channel logout to the tokens and sockets of that session.
      ...(typeof token.sid === 'string' ? { sid: token.sid } : {}),
      ...signInAssurance(ctx),
      preferred_username: account.username,
      name: account.displayName ?? account.username,
      ...(await claimsOnInstance(instances, account, token.clientId as string).catch(rethrowForProvider)),
    };
  };
}
