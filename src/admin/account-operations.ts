// What can be done to an account, once, for every way of asking (the CLI today; the user API and the console next):
// each operation checks its input, changes the account, ends the sessions the change must end (with back-channel
// logout to the instances), and writes the audit trail, in that order.
import type { Account } from '../accounts/account-entity.js';
import { type AccountStore, LastAdmin, type LastAdminRule, type ProfileChanges } from '../accounts/account-store.js';
import type { Authenticator } from '../accounts/authenticator.js';
import type { PasswordHasher } from '../accounts/password-hasher.js';
import { setPasswordUrl, type PasswordLinks } from '../accounts/password-links.js';
import type { PasswordPolicy } from '../accounts/password-policy.js';
import { changedFields } from '../audit/audit-changes.js';
import type { AuditDetails } from '../audit/audit-event-entity.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { RevocationAnnouncer } from '../revocations/revocation-feed.js';
import { AppError, BadRequest, NotFound } from '../errors.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { AccountSessions, EndedSessions } from '../provider/account-sessions.js';

/** Who asked, for the audit trail. */
export interface Actor {
  /** The signed-in account that asked; null for the operator's shell. */
  accountId: string | null;
  /** `registration`: the instance itself, through the registration endpoint (RFC 7591/7592). */
  via: 'cli' | 'api' | 'web' | 'registration';
  /** For the command line: the operating-system user who ran it, the only name the trail can give a shell. */
  osUser?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

/** Who acted, as every change's audit entry names them: `by` (their account, null for a shell), `via`, `os_user`. */
export function actorDetails(actor: Actor): AuditDetails {
  return { by: actor.accountId, via: actor.via, ...(actor.osUser ? { os_user: actor.osUser } : {}) };
}

/** A change to an account in the audit trail: who acted, how and from where (every operations class records so). */
export function recordAccountChange(
  audit: AuditLog,
  change: { action: string; accountId: string; actor: Actor; details?: AuditDetails; outcome?: 'success' | 'failure' },
): Promise<void> {
  const { action, accountId, actor, details = {}, outcome = 'success' } = change;
  return audit.record({ action, outcome, accountId, ip: actor.ip ?? null, userAgent: actor.userAgent ?? null, details: { ...details, ...actorDetails(actor) } });
}

/** The profile fields an update may change, as the audit trail compares them. */
const PROFILE_FIELDS = ['displayName', 'email', 'bio', 'picture'] as const;

/** A set-password link, shown once: its secret is stored nowhere. */
export interface PasswordLinkView {
  url: string;
  expiresAt: Date;
}

/** A set-password link mailed to the account's address instead of shown: where it went, and until when it works. */
export interface MailedPasswordLink {
  mailedTo: string;
  expiresAt: Date;
}

/** How a new set-password link reaches its owner: shown to whoever asked (the default), or mailed to the owner. */
export interface LinkDelivery {
  mail?: boolean;
}

/** A new account; without a password its owner sets one through the link `create` returns. */
export interface NewAccountRequest {
  username: string;
  password: string | null;
  displayName?: string | null;
  email?: string | null;
  isAdmin?: boolean;
}

export interface AccountOperationsDependencies {
  accounts: AccountStore;
  authenticator: Authenticator;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  passwordLinks: PasswordLinks;
  sessions: AccountSessions;
  audit: AuditLog;
  issuer: string;
  /** Links, verification and notices by mail (src/mail/account-mail.ts); `enabled` false without SMTP_URL. */
  mail: AccountMail;
  /** The account's instances, told on their revocation streams when it is disabled or deleted. */
  instances: InstanceStore;
  revocations: RevocationAnnouncer;
}

export { SET_PASSWORD_PATH } from '../accounts/password-links.js';

/**
 * Nobody makes a set-password link for their own account, nor clears their own password for one: they change it with
 * the current one. A link of one's own would set a new password without the old, and with it pass the console's
 * fresh sign-in (src/web/web-session.ts) that stands before deleting users and rotating keys.
 */
function refuseOwnLink(id: string, actor: Actor): void {
  if (actor.accountId === id) {
    throw new BadRequest('you cannot make a set-password link for your own account: change your password on your account page, with the current one');
  }
}

/** A set-password link that is unknown, used, expired or withdrawn. */
function invalidLink(): AppError {
  return new AppError('invalid_link', 'this link is not valid any more: ask an admin for a new one', { status: 400 });
}

export class AccountOperations {
  constructor(private readonly deps: AccountOperationsDependencies) {}

  /** Creates an account, its password under the policy, or without one and with a set-password link (shown once). */
  async create(
    input: NewAccountRequest,
    actor: Actor,
    delivery: LinkDelivery = {},
  ): Promise<{ account: Account; passwordLink: PasswordLinkView | null; mailedLink: MailedPasswordLink | null }> {
    if (delivery.mail === true && input.password === null) {
      // Refused before the account exists: mail is off, or the new account would have no address to mail to.
      this.deps.mail.checkCanMailLink({ username: input.username, email: input.email ?? null });
    }
    const passwordHash = input.password === null ? null : await this.deps.hasher.hash(this.deps.policy.check(input.password, input.username));
    const account = await this.deps.accounts.create({
      username: input.username,
      passwordHash,
      displayName: input.displayName,
      email: input.email,
      isAdmin: input.isAdmin === true,
    });
    await this.record('account.created', account.id, actor, { username: account.username });
    await this.deps.mail.sendVerification(account);
    if (input.password !== null) return { account, passwordLink: null, mailedLink: null };
    if (delivery.mail === true) return { account, passwordLink: null, mailedLink: await this.mailPasswordLink(account.id, actor, 'new_account') };
    return { account, passwordLink: await this.issuePasswordLink(account.id, actor), mailedLink: null };
  }

  /** Changes the profile fields given; the audit entry holds the fields that changed, each before and after. */
  async updateProfile(id: string, changes: ProfileChanges, actor: Actor): Promise<Account> {
    const before = await this.deps.accounts.get(id);
    const account = await this.deps.accounts.updateProfile(id, changes);
    const asked = PROFILE_FIELDS.filter((field) => changes[field] !== undefined);
    await this.record('account.profile_updated', id, actor, changedFields(before, account, asked));
    if (account.email !== before.email) await this.deps.mail.sendVerification(account);
    return account;
  }

  /** Mails a fresh verification link to the account's unverified address; false when there is nothing to verify. */
  async resendVerification(id: string): Promise<boolean> {
    return this.deps.mail.sendVerification(await this.deps.accounts.get(id));
  }

  /** Turns the notice of each sign-in from a new browser on or off. */
  async setSignInNotices(id: string, on: boolean, actor: Actor): Promise<Account> {
    const account = await this.deps.accounts.setSignInNotices(id, on);
    await this.record('account.notices_changed', id, actor, { new_browser_sign_in: on });
    return account;
  }

  /** Ends one session of the account (by uid) or all of them; NotFound when it has no session with that uid. */
  async endSessions(id: string, which: { uid: string } | 'all', actor: Actor): Promise<EndedSessions> {
    const ended = which === 'all' ? await this.deps.sessions.endAll(id) : await this.deps.sessions.end(id, which.uid);
    if (!ended) throw new NotFound('no such session');
    await this.record('sessions.ended', id, actor, { ...ended, ...(which === 'all' ? {} : { session: which.uid }) });
    return ended;
  }

  /**
   * Disables the account and ends its sessions: its tokens stop working at once. The last enabled admin only with
   * `force` (LastAdmin otherwise), the same for setAdmin(false) and delete.
   */
  async disable(id: string, actor: Actor, rule: LastAdminRule = {}): Promise<Account> {
    const account = await this.deps.accounts.setDisabled(id, true, rule);
    const ended = await this.deps.sessions.endAll(id);
    await this.record('account.disabled', id, actor, { ...ended });
    await this.announce('account.disabled', id, await this.clientIdsOf(id));
    return account;
  }

  async enable(id: string, actor: Actor): Promise<Account> {
    const account = await this.deps.accounts.setDisabled(id, false);
    await this.record('account.enabled', id, actor);
    return account;
  }

  async unlock(id: string, actor: Actor): Promise<Account> {
    const account = await this.deps.accounts.unlock(id);
    await this.record('account.unlocked', id, actor);
    return account;
  }

  /** Makes the account an admin of this server (first run is over then), or no longer one. */
  async setAdmin(id: string, isAdmin: boolean, actor: Actor, rule: LastAdminRule = {}): Promise<Account> {
    const account = await this.deps.accounts.setAdmin(id, isAdmin, rule);
    await this.record(isAdmin ? 'account.admin_granted' : 'account.admin_revoked', id, actor);
    return account;
  }

  /** An admin sets the password: the account is unlocked and signed out everywhere. */
  async setPassword(id: string, password: string, actor: Actor): Promise<Account> {
    const account = await this.deps.accounts.get(id);
    const hash = await this.deps.hasher.hash(this.deps.policy.check(password, account.username));
    const ended = await this.replacePassword(id, hash, { unlock: true, notify: actor });
    await this.record('account.password_set', id, actor, { ...ended });
    return account;
  }

  /**
   * An admin clears the password: the account cannot sign in until its owner sets one through the link returned
   * (shown once), and is signed out everywhere now.
   */
  async clearPassword(id: string, actor: Actor): Promise<PasswordLinkView> {
    refuseOwnLink(id, actor);
    const ended = await this.replacePassword(id, null);
    await this.record('account.password_cleared', id, actor, { ...ended });
    return this.issuePasswordLink(id, actor);
  }

  /** clearPassword, with the link mailed to the owner's address instead of shown (refused before anything changes). */
  async clearPasswordAndMailLink(id: string, actor: Actor): Promise<MailedPasswordLink> {
    refuseOwnLink(id, actor);
    this.deps.mail.checkCanMailLink(await this.deps.accounts.get(id));
    const ended = await this.replacePassword(id, null);
    await this.record('account.password_cleared', id, actor, { ...ended });
    return this.mailPasswordLink(id, actor, 'reset');
  }

  /**
   * A fresh set-password link mailed to the account's address instead of shown (MailNotConfigured or NoMailAddress
   * when it cannot be); the link and its mail are made in one transaction.
   */
  async mailPasswordLink(id: string, actor: Actor, reason: 'new_account' | 'reset' = 'reset'): Promise<MailedPasswordLink> {
    refuseOwnLink(id, actor);
    const account = await this.deps.accounts.get(id);
    const { expiresAt, to } = await this.deps.mail.mailPasswordLink(account, reason);
    await this.record('account.password_link_issued', id, actor, { expires_at: expiresAt.toISOString(), mailed: true });
    return { mailedTo: to, expiresAt };
  }

  /**
   * A fresh set-password link for the account (older ones stop working). It works on an account with a password too
   * (an admin's reset: the password stays until the link is used), but never for the actor's own account.
   */
  async issuePasswordLink(id: string, actor: Actor): Promise<PasswordLinkView> {
    refuseOwnLink(id, actor);
    await this.deps.accounts.get(id);
    const { secret, expiresAt } = await this.deps.passwordLinks.issue(id);
    await this.record('account.password_link_issued', id, actor, { expires_at: expiresAt.toISOString() });
    return { url: setPasswordUrl(this.deps.issuer, secret), expiresAt };
  }

  /**
   * The owner sets a password through a link: used once, whatever the concurrency; the account is unlocked and signed
   * out everywhere, as by any other password change. Refused with `invalid_link` for a link that is unknown, used or
   * expired, and with `bad_request` for a password the policy refuses (the link stays usable).
   */
  async setPasswordWithLink(secret: string, password: string, actor: Actor): Promise<Account> {
    const owner = await this.deps.passwordLinks.accountOf(secret);
    const account = owner ? await this.deps.accounts.find(owner) : null;
    if (!account) throw invalidLink();
    const hash = await this.deps.hasher.hash(this.deps.policy.check(password, account.username));
    if ((await this.deps.passwordLinks.redeem(secret)) !== account.id) throw invalidLink();
    const ended = await this.replacePassword(account.id, hash, { unlock: true, notify: actor });
    await this.record('account.password_set', account.id, actor, { with: 'link', ...ended });
    return account;
  }

  /**
   * The owner changes their password: the current one is checked like a sign-in (it counts towards the lockout), and
   * every other session of theirs ends.
   */
  async changeOwnPassword(id: string, current: string, next: string, actor: Actor & { keepSessionUid?: string }): Promise<void> {
    const account = await this.deps.accounts.get(id);
    const check = await this.deps.authenticator.signIn(account.username, current);
    if (!check.ok) {
      await this.record('account.password_changed', id, actor, { reason: check.reason }, 'failure');
      throw new BadRequest('the current password is not right');
    }
    const hash = await this.deps.hasher.hash(this.deps.policy.check(next, account.username));
    const ended = await this.replacePassword(id, hash, { keepUid: actor.keepSessionUid, notify: actor });
    await this.record('account.password_changed', id, actor, { ...ended });
  }

  /**
   * Deletes the account after ending its sessions and grants (back-channel logout to each instance first). The last
   * enabled admin is refused before anything ends.
   */
  async delete(id: string, actor: Actor, rule: LastAdminRule = {}): Promise<void> {
    const account = await this.deps.accounts.get(id);
    if (rule.force !== true && (await this.deps.accounts.isLastAdmin(id))) throw new LastAdmin(account.username);
    // Its access links go with it: the instances to tell are read first.
    const clientIds = await this.clientIdsOf(id);
    const ended = await this.deps.sessions.endAll(id);
    if (!(await this.deps.accounts.delete(id, rule))) throw new NotFound(`account ${id} not found`);
    await this.record('account.deleted', id, actor, { username: account.username, ...ended });
    await this.announce('account.deleted', id, clientIds);
  }

  /**
   * Every change of a password ends here, whoever asks and however: the new hash (null: none) is stored, the account's
   * set-password links are withdrawn, and every session and grant of it ends with its codes and tokens (instances told
   * by back-channel logout), but for the session `keepUid` names: whoever knew the old password is out.
   */
  private async replacePassword(
    id: string,
    hash: string | null,
    { unlock = false, keepUid, notify }: { unlock?: boolean; keepUid?: string; notify?: Actor } = {},
  ): Promise<EndedSessions> {
    await this.deps.accounts.setPasswordHash(id, hash);
    await this.deps.passwordLinks.withdraw(id);
    if (unlock) await this.deps.accounts.unlock(id);
    const ended = await this.deps.sessions.endAll(id, { keepUid });
    // A new password (not a cleared one) is told to the owner's address: whoever did it, the owner learns of it.
    if (hash !== null && notify) {
      await this.deps.mail.notice(await this.deps.accounts.get(id), 'password_changed', { ip: notify.ip ?? null, userAgent: notify.userAgent ?? null });
    }
    return ended;
  }

  /** The client ids of the instances the account has access to. */
  private async clientIdsOf(accountId: string): Promise<string[]> {
    const links = await this.deps.instances.listAccess({ accountId });
    return (await this.deps.instances.findMany(links.map((link) => link.instanceId))).map((instance) => instance.clientId);
  }

  private announce(type: 'account.disabled' | 'account.deleted', sub: string, clientIds: string[]): Promise<void> {
    return this.deps.revocations.announce(clientIds.map((clientId) => ({ clientId, type, details: { sub } })));
  }

  private async record(
    action: string,
    accountId: string,
    actor: Actor,
    details: AuditDetails = {},
    outcome: 'success' | 'failure' = 'success',
  ): Promise<void> {
    await recordAccountChange(this.deps.audit, { action, accountId, actor, details, outcome });
  }
}
