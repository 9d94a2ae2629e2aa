import type { Config } from '../../config/index.js';
import type { Account } from './account-entity.js';
import type { AccountStore } from './account-store.js';
import type { PasswordHasher } from './password-hasher.js';

export type SignInFailure = 'invalid_credentials' | 'locked' | 'disabled' | 'password_not_set';
export type SignInResult = { ok: true; account: Account } | { ok: false; reason: SignInFailure; account?: Account };

/** An account id that no account has (ids are UUIDs): what an attempt without an account to count is counted against. */
const NO_ACCOUNT = '-';

/**
 * Checks a username and password: argon2id (or an imported bcrypt hash, upgraded on success), per-account
 * lockout after MAX_LOGIN_ATTEMPTS for LOCKOUT_DURATION. Every attempt is counted before its password's verdict is
 * used (see AccountStore.reserveLoginAttempt), so parallel guesses cannot outrun the lockout.
 *
 * Timing tells nobody whether an account exists, is locked or has no password: every attempt makes the same store
 * statements (one look-up, one counting UPDATE, which for no account, or no password, matches no row) and spends one
 * password hash, and the UPDATE runs while the hash is computed, so that its write (a commit the database flushes,
 * which an UPDATE of no row never has) is hidden behind the hashing every attempt waits for alike.
 */
export class Authenticator {
  constructor(
    private readonly accounts: AccountStore,
    private readonly hasher: PasswordHasher,
    private readonly lockout: Config['lockout'],
  ) {}

  /**
   * `secondStep`: whether a second factor follows for this account. Then the failed attempts are not cleared by the
   * password, but by the whole sign-in (finishSignIn): else every right password would reset the lockout that also
   * bounds the guessing of second-factor codes.
   */
  async signIn(username: string, password: string, { secondStep }: { secondStep?: (account: Account) => Promise<boolean> } = {}): Promise<SignInResult> {
    const account = await this.accounts.findForLogin(username);
    const passwordHash = account?.passwordHash ?? null;
    const { maxAttempts, durationSeconds } = this.lockout;
    const [reserved, check] = await Promise.all([
      this.accounts.reserveLoginAttempt(account && passwordHash !== null ? account.id : NO_ACCOUNT, maxAttempts, durationSeconds),
      passwordHash === null ? this.hasher.verifyNothing(password).then(() => null) : this.hasher.verify(passwordHash, password),
    ]);
    if (!account) return { ok: false, reason: 'invalid_credentials' };
    if (check === null) return { ok: false, reason: 'password_not_set', account };
    // Locked: the check's verdict is not used, right or wrong, so no more passwords are told apart than the lockout allows.
    if (!reserved) return { ok: false, reason: 'locked', account };
    if (!check.valid) return { ok: false, reason: 'invalid_credentials', account };
    if (account.disabled) return { ok: false, reason: 'disabled', account };
    if (check.rehash) await this.accounts.setPasswordHash(account.id, check.rehash);
    if (!(await secondStep?.(account))) await this.accounts.recordSuccessfulLogin(account.id);
    return { ok: true, account };
  }

  /**
   * Lets in the account a passkey has proved (src/accounts/passkey-ceremonies.ts) as a right password would: refused
   * while it is locked out or disabled, else its failed attempts cleared and its sign-in recorded. A passkey's own
   * failures are not counted towards the lockout: its signature cannot be guessed (the per-address limit still
   * applies), and a stranger would otherwise lock its owner out by posting rubbish.
   */
  async signInVerified(accountId: string, now = new Date()): Promise<SignInResult> {
    const account = await this.accounts.find(accountId);
    if (!account) return { ok: false, reason: 'invalid_credentials' };
    if (account.lockedUntil !== null && account.lockedUntil > now) return { ok: false, reason: 'locked', account };
    if (account.disabled) return { ok: false, reason: 'disabled', account };
    await this.accounts.recordSuccessfulLogin(account.id);
    return { ok: true, account };
  }

  /**
   * Counts one second-factor answer against the same lockout as passwords, before it is judged (parallel guesses
   * cannot outrun it); false while the account is locked, when the answer must not be judged at all.
   */
  reserveAttempt(accountId: string): Promise<boolean> {
    return this.accounts.reserveLoginAttempt(accountId, this.lockout.maxAttempts, this.lockout.durationSeconds);
  }

  /** The whole sign-in succeeded (password and second factor): the failed attempts are cleared. */
  finishSignIn(accountId: string): Promise<void> {
    return this.accounts.recordSuccessfulLogin(accountId);
  }
}
