// Who may do what through the user API, as pure rules over facts the caller's token and the stores gave
// (src/admin/api-auth.ts finds them, src/admin/user-routes.ts asks). Every access token names the instance it was
// issued to, and the rules are relative to it:
//
//   caller                                          register   read        edit, password, sessions   delete, password-link
//   the user themself                               -          own         own                        -
//   an admin of this server, token of scope admin   yes (1)    anyone      anyone                     anyone (2)
//   an admin of the token's instance                yes (1)    its users   -                          -
//   the instance itself, scope users:read           -          its users   -                          -
//   the instance itself, any scope                  local id of its users (maySetLocalId), nothing else without users:read
//
//   (1) the new account gets access to the token's instance only, with the role asked (member by default).
//   (2) a set-password link for one's own account is refused by the operation (account-operations.ts): the current
//       password is how one changes one's own.
//   "its users": accounts with access to the token's instance.
//
// Power over every account (hasServerPower) takes what the admin API takes: the admin flag says the person is an
// admin of this server, the admin scope that the instance the token was issued to is trusted with their power. A
// server admin's token without the scope is an ordinary user's: their own account, and the instance's users where
// their role on it is admin. Otherwise any instance an admin ever signed in to, or whoever took it over, could set
// every password here, other admins' included.
//
// A caller who may not see an account is told it does not exist (404), whether it exists or not: who has an account
// here is nobody else's business. A caller who may see it but not do what they ask is refused (403). An instance's own
// token without users:read may do nothing here (403 insufficient_scope).
//
// The admin API (/admin/...) is for one caller only: an admin of this server, with a token that carries the admin
// scope (mayAdminister); a token without the scope is refused whoever holds it.
import type { InstanceRole } from '../instances/instance-access-entity.js';
import { ADMIN_SCOPE, USERS_READ_SCOPE } from '../instances/instance-store.js';

/** What a token says of its bearer, checked against the stores. */
export interface CallerRights {
  /** The signed-in account the token was issued for; null for an instance's own token (client_credentials). */
  account: { id: string; isAdmin: boolean } | null;
  /** The account's role on the instance the token was issued to, when it has access there. */
  instanceRole: InstanceRole | null;
  scopes: ReadonlySet<string>;
}

/** The account a request is about, as far as the rules care. */
export interface TargetFacts {
  id: string;
  /** Whether the account has access to the instance the caller's token was issued to. */
  onCallersInstance: boolean;
}

/** `password-link`: a fresh set-password link for the account, which lets whoever holds it take the account over. */
export type UserAction = 'read' | 'edit' | 'password' | 'sessions' | 'delete' | 'password-link';

export type Verdict = 'allowed' | 'forbidden' | 'not_found' | 'insufficient_scope';

/** An admin of this server calling with a token of scope admin: power over every account (see above). */
function hasServerPower(caller: CallerRights): boolean {
  return caller.account?.isAdmin === true && caller.scopes.has(ADMIN_SCOPE);
}

function isInstanceWithoutScope(caller: CallerRights): boolean {
  return caller.account === null && !caller.scopes.has(USERS_READ_SCOPE);
}

/** Whether the caller may see the account at all. */
function maySee(caller: CallerRights, target: TargetFacts): boolean {
  if (hasServerPower(caller) || caller.account?.id === target.id) return true;
  if (!target.onCallersInstance) return false;
  return caller.account === null ? caller.scopes.has(USERS_READ_SCOPE) : caller.instanceRole === 'admin';
}

function mayDo(caller: CallerRights, action: UserAction, target: TargetFacts): boolean {
  if (hasServerPower(caller)) return true;
  switch (action) {
    case 'read':
      return maySee(caller, target);
    case 'edit':
    case 'password':
    case 'sessions':
      return caller.account?.id === target.id;
    case 'delete':
    case 'password-link':
      return false;
  }
}

/** May the caller use the admin API? */
export function mayAdminister(caller: CallerRights): Verdict {
  if (!caller.scopes.has(ADMIN_SCOPE)) return 'insufficient_scope';
  return hasServerPower(caller) ? 'allowed' : 'forbidden';
}

/** May the caller register accounts? */
export function mayRegister(caller: CallerRights): Verdict {
  if (isInstanceWithoutScope(caller)) return 'insufficient_scope';
  return hasServerPower(caller) || (caller.account !== null && caller.instanceRole === 'admin') ? 'allowed' : 'forbidden';
}

/** May the caller do `action` to the account `target` (null: no such account)? */
export function decide(caller: CallerRights, action: UserAction, target: TargetFacts | null): Verdict {
  if (isInstanceWithoutScope(caller)) return 'insufficient_scope';
  if (target === null || !maySee(caller, target)) return 'not_found';
  return mayDo(caller, action, target) ? 'allowed' : 'forbidden';
}

/** Recording a user's local id is for the instance itself (its own token, whatever its scopes), about its users. */
export function maySetLocalId(caller: CallerRights, target: TargetFacts | null): Verdict {
  if (caller.account === null) return target?.onCallersInstance ? 'allowed' : 'not_found';
  return target !== null && maySee(caller, target) ? 'forbidden' : 'not_found';
}

/** Setting or clearing someone's password without knowing the current one takes server power. */
export function maySetPasswordWithoutCurrent(caller: CallerRights): boolean {
  return hasServerPower(caller);
}
