import type { Config } from '../../config/index.js';
import type { Account } from './account-entity.js';
import type { AccountStore } from './account-store.js';
import type { PasswordHasher } from './password-hasher.js';

export type SignInFailure = 'invalid_credentials' | 'locked' | 'disabled' | 'password_not_set';
export type SignInResult = { ok: true; account: Account } | { ok: false; reason: SignInFailure; account?: Account };

/**
 * Checks a username and password: argon2id (or an imported bcrypt hash, upgraded on success), per-account
 * lockout after MAX_LOGIN_ATTEMPTS for LOCKOUT_DURATION. Every attempt is counted before its password is checked
 * (see AccountStore.reserveLoginAttempt), so parallel guesses cannot outrun the lockout. Every failure spends one
 * password hash, whatever its reason, so timing tells nobody whether an account exists, is locked or has no password.
 */
export class Authenticator {
  constructor(
    private readonly accounts: AccountStore,
    private readonly hasher: PasswordHasher,
    private readonly lockout: Config['lockout'],
  ) {}

  async signIn(username: string, password: string): Promise<SignInResult> {
    const account = await this.accounts.findForLogin(username);
    if (!account) return this.refuse(password, 'invalid_credentials');
    if (account.passwordHash === null) return this.refuse(password, 'password_not_set', account);
    const { maxAttempts, durationSeconds } = this.lockout;
    if (!(await this.accounts.reserveLoginAttempt(account.id, maxAttempts, durationSeconds))) {
      return this.refuse(password, 'locked', account);
    }
    const check = await this.hasher.verify(account.passwordHash, password);
    if (!check.valid) return { ok: false, reason: 'invalid_credentials', account };
    if (account.disabled) return { ok: false, reason: 'disabled', account };
    if (check.rehash) await this.accounts.setPasswordHash(account.id, check.rehash);
    await this.accounts.recordSuccessfulLogin(account.id);
    return { ok: true, account };
  }

  /** A failure decided without checking the password, after the same hashing work a check costs. */
  private async refuse(password: string, reason: SignInFailure, account?: Account): Promise<SignInResult> {
    await this.hasher.verifyNothing(password);
    return { ok: false, reason, account };
  }
}
