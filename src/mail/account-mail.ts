// What the rest of the server mails about accounts: set-password links instead of showing them, address
// verification, and notices of what happened to an account. Each mail goes into the outbox in the transaction that
// made what it carries (a link); the worker sends it later, so a relay that is down never fails the page. Without
// SMTP_URL `enabled` is false: notices and verification mails are skipped, and asking to mail a link is refused.
import type { DataSource } from 'typeorm';
import type { Account } from '../accounts/account-entity.js';
import { setPasswordUrl, type PasswordLinks } from '../accounts/password-links.js';
import { AppError } from '../errors.js';
import { mailableAddress } from './mail-address.js';
import { verifyEmailUrl, type EmailVerifications } from './email-verifications.js';
import type { MailData, RequestOrigin } from './mail-kinds.js';
import type { MailOutbox } from './mail-outbox.js';
import { mailTime } from './mail-templates.js';

/** The notices an account's owner gets: short mails that name what happened and what to do if it was not them. */
export type NoticeKind = 'password_changed' | 'new_browser_sign_in' | 'second_factor_changed';

export interface AccountMailDependencies {
  enabled: boolean;
  dataSource: DataSource;
  outbox: MailOutbox;
  passwordLinks: PasswordLinks;
  verifications: EmailVerifications;
  issuer: string;
  clock: () => number;
}

/** Mail is off (no SMTP_URL): what asking for a mailed link answers. */
export class MailNotConfigured extends AppError {
  constructor() {
    super('mail_not_configured', 'this server sends no mail (SMTP_URL is not set): show the link and hand it over instead', { status: 409 });
  }
}

/** The account has no address mail can go to: what asking for a mailed link answers. */
export class NoMailAddress extends AppError {
  constructor(username: string) {
    super('no_email', `"${username}" has no e-mail address to send the link to: set one, or show the link and hand it over`, { status: 409 });
  }
}

export class AccountMail {
  constructor(private readonly deps: AccountMailDependencies) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  /** Refuses before anything changes when a link for the account could not be mailed. */
  checkCanMailLink(account: Pick<Account, 'username' | 'email'>): void {
    if (!this.deps.enabled) throw new MailNotConfigured();
    if (!mailableAddress(account.email)) throw new NoMailAddress(account.username);
  }

  /**
   * Issues a set-password link for the account and queues it to its address, in one transaction: the link exists
   * only if its mail is queued. Older links stop working, as with a link shown.
   */
  async mailPasswordLink(account: Account, reason: MailData['password_link']['reason']): Promise<{ expiresAt: Date; to: string }> {
    this.checkCanMailLink(account);
    const to = account.email!;
    const expiresAt = await this.deps.dataSource.transaction(async (manager) => {
      const link = await this.deps.passwordLinks.issue(account.id, manager);
      const data = { username: account.username, url: setPasswordUrl(this.deps.issuer, link.secret), expiresAt: mailTime(link.expiresAt), reason };
      await this.deps.outbox.enqueue({ kind: 'password_link', to, accountId: account.id, data }, manager);
      return link.expiresAt;
    });
    return { expiresAt, to };
  }

  /** Mails a verification link to the account's address (unless it is verified, or mail is off); whether it did. */
  async sendVerification(account: Account): Promise<boolean> {
    const to = account.email;
    if (!this.deps.enabled || !to || account.emailVerified || !mailableAddress(to)) return false;
    await this.deps.dataSource.transaction(async (manager) => {
      const link = await this.deps.verifications.issue(account.id, to, manager);
      const data = { username: account.username, email: to, url: verifyEmailUrl(this.deps.issuer, link.secret), expiresAt: mailTime(link.expiresAt) };
      await this.deps.outbox.enqueue({ kind: 'email_verification', to, accountId: account.id, data }, manager);
    });
    return true;
  }

  /** Queues a notice to the account's address, if it has one and mail is on. */
  async notice(account: Account, kind: NoticeKind, origin: RequestOrigin, extra: { change?: 'added' | 'removed'; factor?: string } = {}): Promise<void> {
    const to = account.email;
    if (!this.deps.enabled || !to || !mailableAddress(to)) return;
    const base = { username: account.username, at: mailTime(new Date(this.deps.clock())), origin };
    if (kind === 'second_factor_changed') {
      const data = { ...base, change: extra.change ?? 'added', factor: extra.factor ?? 'second factor' };
      await this.deps.outbox.enqueue({ kind, to, accountId: account.id, data });
    } else {
      await this.deps.outbox.enqueue({ kind, to, accountId: account.id, data: base });
    }
  }
}
