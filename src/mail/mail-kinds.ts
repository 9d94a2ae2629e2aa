// Every mail the server sends, by kind, with the data its templates (views/mail/<kind>.text.ejs and .html.ejs) read
// and its subject. Links in them are made from the issuer and a path only (mail-templates.ts checks it).

/** Where a request came from, as a mail tells its reader (the address and browser that asked). */
export interface RequestOrigin {
  ip: string | null;
  userAgent: string | null;
}

export interface MailData {
  /** "Forgot your password?": the set-password link, and who asked for it. */
  password_reset: { username: string; url: string; expiresAt: string; origin: RequestOrigin };
  /** An admin mailed a set-password link instead of showing it: a new account, or a reset. */
  password_link: { username: string; url: string; expiresAt: string; reason: 'new_account' | 'reset' };
  /** A new or changed address: the link that verifies it. */
  email_verification: { username: string; url: string; expiresAt: string; email: string };
  /** The password was changed or set (by its owner, through a link, or by an admin). */
  password_changed: { username: string; at: string; origin: RequestOrigin };
  /** A sign-in from a browser this account had not signed in from (the owner asked for these). */
  new_browser_sign_in: { username: string; at: string; origin: RequestOrigin };
  /** A second factor added or removed (for the second-factor code to send when it exists). */
  second_factor_changed: { username: string; at: string; change: 'added' | 'removed'; factor: string; origin: RequestOrigin };
}

export type MailKind = keyof MailData;

export const MAIL_SUBJECTS: { readonly [K in MailKind]: string } = {
  password_reset: 'Set a new password',
  password_link: 'Set your password',
  email_verification: 'Confirm your e-mail address',
  password_changed: 'Your password was changed',
  new_browser_sign_in: 'New sign-in to your account',
  second_factor_changed: 'Your second factors changed',
};

/** A mail ready for the outbox: its kind, recipient, the account it concerns and its template data. */
export type Mail = { [K in MailKind]: { kind: K; to: string; accountId: string; data: MailData[K] } }[MailKind];
