// Who must sign in with a second factor: the server's rule for its admins (MFA_REQUIRED_FOR_ADMINS: the console and
// the `admin` scope) and each instance's `mfa` policy. `off` and `optional` require nothing of anyone: an account with
// a factor is still asked for it at every sign-in (the factor belongs to the account), and an instance may still step
// up with acr_values; `optional` is the default, `off` says the instance has no use for it.
import type { Account } from '../accounts/account-entity.js';
import type { Instance, MfaPolicy } from '../instances/instance-entity.js';
import type { InstanceAccess } from '../instances/instance-access-entity.js';

export const MFA_POLICIES: readonly MfaPolicy[] = ['off', 'optional', 'required', 'required-for-admins'];

export function isMfaPolicy(value: unknown): value is MfaPolicy {
  return typeof value === 'string' && (MFA_POLICIES as readonly string[]).includes(value);
}

export interface MfaRequirement {
  account: Account;
  /** MFA_REQUIRED_FOR_ADMINS. */
  requiredForAdmins: boolean;
  /** The instance signed in to; null for the server's own pages (the console). */
  instance: Instance | null;
  /** The account's access on that instance (its role there). */
  access: InstanceAccess | null;
  /** The scopes asked for. */
  scopes: readonly string[];
  /** The scope that opens the admin API. */
  adminScope: string;
}

/** Whether this sign-in must be made with a second factor. */
export function mfaRequired({ account, requiredForAdmins, instance, access, scopes, adminScope }: MfaRequirement): boolean {
  if (requiredForAdmins && account.isAdmin && (instance === null || scopes.includes(adminScope))) return true;
  if (!instance) return false;
  if (instance.mfa === 'required') return true;
  // An instance admin: the role granted there, else a server admin (admin wherever it has no role: instance-claims.ts).
  const instanceAdmin = (access?.role ?? (account.isAdmin ? 'admin' : 'member')) === 'admin';
  return instance.mfa === 'required-for-admins' && instanceAdmin;
}
