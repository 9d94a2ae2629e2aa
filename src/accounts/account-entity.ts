import { EntitySchema } from 'typeorm';

/** A person who can sign in. `id` is the OIDC `sub`. */
export interface Account {
  id: string;
  username: string;
  /** The username's key (usernameKey in username.ts: NFKC, lower case): unique, so look-alikes and case variants are one. */
  usernameKey: string;
  displayName: string | null;
  email: string | null;
  /** Whether its owner followed a verification link mailed to `email` (src/mail/email-verifications.ts). */
  emailVerified: boolean;
  /** Whether its owner wants a mail at each sign-in from a browser this account never signed in from. */
  signInNotices: boolean;
  /** argon2id (or an imported bcrypt hash until the next good login); null: must set a password first. */
  passwordHash: string | null;
  isAdmin: boolean;
  disabled: boolean;
  failedLogins: number;
  lockedUntil: Date | null;
  bio: string | null;
  picture: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastLoginAt: Date | null;
}

export const AccountEntity = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    username: { type: 'varchar', length: 50 },
    usernameKey: { name: 'username_key', type: 'varchar', length: 50, unique: true },
    displayName: { name: 'display_name', type: 'varchar', length: 100, nullable: true },
    email: { type: 'varchar', length: 255, nullable: true },
    emailVerified: { name: 'email_verified', type: Boolean, default: false },
    signInNotices: { name: 'sign_in_notices', type: Boolean, default: false },
    passwordHash: { name: 'password_hash', type: 'varchar', length: 255, nullable: true, select: false },
    isAdmin: { name: 'is_admin', type: Boolean, default: false },
    disabled: { type: Boolean, default: false },
    failedLogins: { name: 'failed_logins', type: 'integer', default: 0 },
    lockedUntil: { name: 'locked_until', type: Date, nullable: true },
    bio: { type: 'text', nullable: true },
    picture: { type: 'varchar', length: 255, nullable: true },
    createdAt: { name: 'created_at', type: Date, createDate: true },
    updatedAt: { name: 'updated_at', type: Date, updateDate: true },
    lastLoginAt: { name: 'last_login_at', type: Date, nullable: true },
  },
});
