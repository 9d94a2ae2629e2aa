import type { Account } from '../accounts/account-entity.js';
import type { InstanceAccess } from '../instances/instance-access-entity.js';

/**
 * Claims names this server adds for ChillFi3 instances (documented in docs/claims.md):
 * - `chillfi3_role`: the user's role on the instance the token or ID token is for: "admin" or "member".
 * - `chillfi3_user_id`: the user's numeric id in that instance's own database, when known (imported users).
 */
export const ROLE_CLAIM = 'chillfi3_role';
export const LOCAL_ID_CLAIM = 'chillfi3_user_id';

export type InstanceClaims = {
  [ROLE_CLAIM]: 'admin' | 'member';
  [LOCAL_ID_CLAIM]?: number;
};

/** The role on an instance: the granted one, else admin for the auth server's own admins, else member. */
export function instanceClaims(account: Account, access: InstanceAccess | null): InstanceClaims {
  const role = access?.role ?? (account.isAdmin ? 'admin' : 'member');
  return access?.localUserId == null ? { [ROLE_CLAIM]: role } : { [ROLE_CLAIM]: role, [LOCAL_ID_CLAIM]: access.localUserId };
}

/** Standard profile claims of an account (OIDC Core §5.1). Never the password hash. */
export function profileClaims(account: Account): { sub: string; [claim: string]: unknown } {
  return {
    sub: account.id,
    preferred_username: account.username,
    name: account.displayName ?? account.username,
    picture: account.picture ?? undefined,
    email: account.email ?? undefined,
    // True only once a link mailed to this very address was followed (src/mail/email-verifications.ts).
    email_verified: account.email ? account.emailVerified : undefined,
    updated_at: Math.floor(account.updatedAt.getTime() / 1000),
  };
}
