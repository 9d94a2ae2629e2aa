import type { Config } from '../../config/index.js';
import type { Account } from './account-entity.js';
import type { AccountStore } from './account-store.js';
import type { PasswordHasher } from './password-hasher.js';

export type SignInFailure = 'invalid_credentials' | 'locked' | 'disabled' | 'password_not_set';
export type SignInResult = { ok: true; account: Account } | { ok: false; reason: SignInFailure; account?: Account };

/**
 * Checks a username and password: argon2id (or an imported bcrypt hash, upgraded on success), per-account
 * lockout after MAX_LOGIN_ATTEMPTS for LOCKOUT_DURATION. Unknown users cost the same time as known ones.
 */
export class Authenticator {
  constructor(
    private readonly accounts: AccountStore,
    private readonly hasher: PasswordHasher,
    private readonly lockout: Config['lockout'],
  ) {}

  async signIn(username: string, password: string): Promise<SignInResult> {
    const account = await this.accounts.findForLogin(username);
    if (!account) {
      await this.hasher.verifyNothing(password);
      return { ok: false, reason: 'invalid_credentials' };
    }
    if (account.lockedUntil && account.lockedUntil.getTime() > Date.now()) {
      await this.hasher.verifyNothing(password);
      return { ok: false, reason: 'locked', account };
    }
    if (account.passwordHash === null) return { ok: false, reason: 'password_not_set', account };
    const check = await this.hasher.verify(account.passwordHash, password);
    if (!check.valid) {
      const { locked } = await this.accounts.recordFailedLogin(account.id, this.lockout.maxAttempts, this.lockout.durationSeconds);
      return { ok: false, reason: locked ? 'locked' : 'invalid_credentials', account };
    }
    if (account.disabled) return { ok: false, reason: 'disabled', account };
    if (check.rehash) await this.accounts.setPasswordHash(account.id, check.rehash);
    await this.accounts.recordSuccessfulLogin(account.id);
    return { ok: true, account };
  }
}
