import { v7 as uuidv7 } from 'uuid';
import { In, MoreThan, type DataSource, type EntityManager, type Repository, type SelectQueryBuilder } from 'typeorm';
import { isDuplicateKey } from '../db/duplicate-key.js';
import { escapeLike } from '../db/like.js';
import { isStorable } from '../db/storable.js';
import { AppError, BadRequest, Conflict, NotFound } from '../errors.js';
import { type Account, AccountEntity } from './account-entity.js';
import { endFirstRun } from './first-run-store.js';
import { mailableAddress } from '../mail/mail-address.js';
import { checkImportedUsername, checkNewUsername, usernameKey } from './username.js';

export interface NewAccount {
  username: string;
  passwordHash: string | null;
  displayName?: string | null;
  email?: string | null;
  isAdmin?: boolean;
}

/** A profile's changeable fields; undefined leaves a field as it is, null or '' clears it. */
export interface ProfileChanges {
  displayName?: string | null;
  email?: string | null;
  bio?: string | null;
  picture?: string | null;
}

/** The longest value of each profile field, in characters (the columns' sizes; ChillFi3's TEXT bio bounded). */
export const PROFILE_LIMITS = { displayName: 100, email: 255, bio: 2000, picture: 255 } as const;

export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkDisplayName(displayName: string | null | undefined): string | null {
  if (displayName === undefined || displayName === null || displayName.trim() === '') return null;
  if (displayName.length > PROFILE_LIMITS.displayName) throw new BadRequest(`display name must be at most ${PROFILE_LIMITS.displayName} characters`);
  if (!isStorable(displayName)) throw new BadRequest('display name must not contain a NUL character');
  return displayName.trim();
}

function checkEmail(email: string | null | undefined): string | null {
  if (email === undefined || email === null || email === '') return null;
  // Only an address mail can go to (src/mail/mail-address.ts): one line, no display name or list, no odd Unicode.
  if (email.length > PROFILE_LIMITS.email || !EMAIL_PATTERN.test(email) || !isStorable(email) || !mailableAddress(email)) {
    throw new BadRequest('email is not a valid address');
  }
  return email;
}

function checkBio(bio: string | null): string | null {
  if (bio === null || bio.trim() === '') return null;
  if (bio.length > PROFILE_LIMITS.bio) throw new BadRequest(`bio must be at most ${PROFILE_LIMITS.bio} characters`);
  if (!isStorable(bio)) throw new BadRequest('bio must not contain a NUL character');
  return bio;
}

/** A picture is shown by the instances' pages: only a web address, never javascript: or data: URLs. */
function checkPicture(picture: string | null): string | null {
  if (picture === null || picture === '') return null;
  const url = URL.parse(picture);
  if (picture.length > PROFILE_LIMITS.picture || !url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !isStorable(picture)) {
    throw new BadRequest(`picture must be an http or https URL of at most ${PROFILE_LIMITS.picture} characters`);
  }
  return picture;
}

/** The profile's fields and the store's check of each. */
const PROFILE_CHECKS = { displayName: checkDisplayName, email: checkEmail, bio: checkBio, picture: checkPicture } as const;

/** What the store would refuse of each profile field, every field at once (a form says each under its field). */
export function profileProblems(profile: Partial<Record<keyof typeof PROFILE_CHECKS, string | null>>): Partial<Record<keyof typeof PROFILE_CHECKS, string>> {
  const problems: Partial<Record<keyof typeof PROFILE_CHECKS, string>> = {};
  for (const [field, check] of Object.entries(PROFILE_CHECKS) as [keyof typeof PROFILE_CHECKS, (value: string | null) => string | null][]) {
    try {
      check(profile[field] ?? null);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      problems[field] = error.message;
    }
  }
  return problems;
}

/**
 * Whether the accounts row a statement is about may stop being an enabled admin (be demoted, disabled or deleted): it
 * is none, or another enabled admin remains. Checked in the very statement that writes (KEEPS_AN_ADMIN_FLAGS with :id).
 */
const KEEPS_AN_ADMIN =
  '(is_admin = :no OR disabled = :yes OR EXISTS (SELECT 1 FROM accounts other WHERE other.is_admin = :yes AND other.disabled = :no AND other.id <> :id))';
const KEEPS_AN_ADMIN_FLAGS = { yes: true, no: false };
/** The PostgreSQL advisory lock every change to who is an admin holds (see #adminsChange). */
const ADMINS_LOCK = 'chillfi3-auth:admins';

/** Demoting, disabling or deleting the last enabled admin: allowed with `force` only (the CLI's --force). */
export interface LastAdminRule {
  force?: boolean;
}

/** The change would leave the server without an enabled admin. */
export class LastAdmin extends AppError {
  constructor(username: string, remedy = 'make another account an admin first') {
    super('last_admin', `"${username}" is the last enabled admin of this server: ${remedy}`, { status: 409 });
  }
}

export interface AccountListQuery {
  search?: string;
  limit?: number;
  offset?: number;
  /** The username key of the last account of the page before (keyset paging). */
  after?: string;
}

export const DEFAULT_ACCOUNT_PAGE = 100;
export const MAX_ACCOUNT_PAGE = 500;
/** From how many accounts (as the planner estimates them) the dashboard's total is the estimate, not a count. */
const ESTIMATE_FROM = 100_000;
/** Up to how many matches a search collects and sorts them rather than reading accounts in username order. */
const SEARCH_FEW = 20_000;

export interface AccountCounts {
  users: number;
  /** Whether `users` is the database's estimate (PostgreSQL, many accounts) rather than a count. */
  estimated: boolean;
  admins: number;
  disabled: number;
  locked: number;
}

/** Reads and writes accounts. The password hash is only read by `findForLogin`. */
export class AccountStore {
  readonly #accounts: Repository<Account>;

  constructor(private readonly dataSource: DataSource) {
    this.#accounts = dataSource.getRepository(AccountEntity);
  }

  /** A new account, its username under the rules for new ones (username.ts); Conflict when its key is taken. */
  async create(input: NewAccount): Promise<Account> {
    return this.#insert(checkNewUsername(input.username), input);
  }

  /** An account brought over by the import: its username kept as the other server had it, if any store can hold it. */
  async createImported(input: NewAccount): Promise<Account> {
    return this.#insert(checkImportedUsername(input.username), input);
  }

  /**
   * One INSERT, and the unique key decides: of any number of creations of one username (or of look-alikes of it) at
   * once, on any number of nodes, exactly one wins and the others are told it is taken.
   */
  async #insert(username: string, input: NewAccount): Promise<Account> {
    const account = this.#row(username, input);
    try {
      if (!account.isAdmin) await this.#accounts.insert(account);
      else await this.#makeAdmin((accounts) => accounts.insert(account));
    } catch (error) {
      if (isDuplicateKey(error)) throw new Conflict(`username "${username}" is taken (usernames that differ only in case or in look-alike forms are one)`);
      throw error;
    }
    return this.get(account.id);
  }

  /**
   * The rows of imported accounts (usernames as createImported takes them, each field checked as at creation), not yet
   * written: the bulk import inserts many at once (src/import/apply-import.ts). BadRequest for the first bad one.
   */
  importedRows(inputs: readonly (NewAccount & Pick<ProfileChanges, 'bio' | 'picture'>)[]): Account[] {
    return inputs.map((input) => ({
      ...this.#row(checkImportedUsername(input.username), input),
      bio: checkBio(input.bio ?? null),
      picture: checkPicture(input.picture ?? null),
    }));
  }

  /** A new account's row, its fields checked. */
  #row(username: string, input: NewAccount): Account {
    return this.#accounts.create({
      id: uuidv7(),
      username,
      usernameKey: usernameKey(username),
      displayName: checkDisplayName(input.displayName),
      email: checkEmail(input.email),
      // Verified only by following a link mailed to it (src/mail/email-verifications.ts).
      emailVerified: false,
      signInNotices: false,
      passwordHash: input.passwordHash,
      isAdmin: input.isAdmin ?? false,
      disabled: false,
      failedLogins: 0,
      lockedUntil: null,
      bio: null,
      picture: null,
      lastLoginAt: null,
    });
  }

  async find(id: string): Promise<Account | null> {
    if (!isStorable(id)) return null;
    return this.#accounts.findOneBy({ id });
  }

  async get(id: string): Promise<Account> {
    const account = await this.find(id);
    if (!account) throw new NotFound(`account ${id} not found`);
    return account;
  }

  async findByUsername(username: string): Promise<Account | null> {
    if (!isStorable(username)) return null;
    return this.#accounts.findOneBy({ usernameKey: usernameKey(username) });
  }

  /** The account with its password hash, for checking a sign-in. */
  async findForLogin(username: string): Promise<Account | null> {
    if (!isStorable(username)) return null;
    return this.#accounts
      .createQueryBuilder('account')
      .addSelect('account.passwordHash')
      .where('account.usernameKey = :key', { key: usernameKey(username) })
      .getOne();
  }

  /**
   * Accounts by username key, in byte order; with `search`, those whose username (by its key, so a look-alike of the
   * text finds it), display name or email starts with it (any case). One page of them: `limit` (DEFAULT_ACCOUNT_PAGE
   * unless given) after the account whose username key is `after` (keyset: AccountPage's nextCursor), or from `offset`
   * (the console's numbered pages). Each condition is a range of an index (migrations/1764950000000-scale-indexes.ts):
   * a search for the middle of a name would read every row, and is not offered.
   */
  list({ search, limit = DEFAULT_ACCOUNT_PAGE, offset = 0, after }: AccountListQuery = {}): Promise<Account[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ACCOUNT_PAGE) {
      return Promise.reject(new BadRequest(`the page size must be a whole number from 1 to ${MAX_ACCOUNT_PAGE}`));
    }
    // PostgreSQL orders by the database's collation unless told otherwise; the index and the cursor are in byte order.
    const key = this.dataSource.options.type === 'postgres' ? 'account.usernameKey COLLATE "C"' : 'account.usernameKey';
    const page = (accounts: Repository<Account>) => {
      const query = accounts.createQueryBuilder('account').orderBy(key, 'ASC').offset(offset).limit(limit);
      return after === undefined ? query : query.andWhere(`${key} > :after`, { after });
    };
    if (search === undefined || search === '') return page(this.#accounts).getMany();
    if (!isStorable(search)) return Promise.resolve([]);
    const matching = (query: SelectQueryBuilder<Account>) =>
      query.andWhere(
        `(${key} LIKE :keyPattern ESCAPE '\\' OR LOWER(account.displayName) LIKE :pattern ESCAPE '\\' OR LOWER(account.email) LIKE :pattern ESCAPE '\\')`,
        { keyPattern: `${escapeLike(usernameKey(search))}%`, pattern: `${escapeLike(search.toLowerCase())}%` },
      );
    if (this.dataSource.options.type !== 'postgres') return matching(page(this.#accounts)).getMany();
    return this.#searchPostgres(matching, page);
  }

  /**
   * A search on PostgreSQL, where the planner's guess of how many accounts match decides between two plans that are
   * each fast in one case only, and its guesses of prefix matches are often wrong by a hundred times: reading the
   * accounts in username order until a page matches (fast when many match early in that order), or collecting the
   * matches from the three prefix indexes and sorting them (fast when few do). So the matches are counted first, up to
   * SEARCH_FEW, by the indexes (a bitmap scan, which stops at the limit): when that few match they are collected and
   * sorted, whatever the guess; beyond it the planner chooses (a very broad prefix, a few characters long, can then
   * take longer than a request may: docs/operations.md, "Sizing").
   */
  #searchPostgres(
    matching: (query: SelectQueryBuilder<Account>) => SelectQueryBuilder<Account>,
    page: (accounts: Repository<Account>) => SelectQueryBuilder<Account>,
  ): Promise<Account[]> {
    return this.dataSource.transaction(async (manager) => {
      const accounts = manager.getRepository(AccountEntity);
      await manager.query('SET LOCAL enable_seqscan = off');
      await manager.query('SET LOCAL enable_indexscan = off');
      const probe = matching(page(accounts)).orderBy().offset(0).limit(SEARCH_FEW + 1).select('account.id');
      const few = (await probe.getRawMany()).length <= SEARCH_FEW;
      if (!few) {
        await manager.query('SET LOCAL enable_seqscan = on');
        await manager.query('SET LOCAL enable_indexscan = on');
      }
      return matching(page(accounts)).getMany();
    });
  }

  /**
   * How many accounts there are, and how many of them are admins, disabled, and locked out at `now`. The few admins,
   * disabled and locked accounts are counted (each on an index of its own); the accounts as a whole are estimated on
   * PostgreSQL (the planner's row count of the table, kept by autovacuum and ANALYZE: `estimated` is then true), as
   * counting a million rows takes longer than a page may. Counted on SQLite, and wherever the estimate is missing.
   */
  async counts(now = new Date()): Promise<AccountCounts> {
    const [users, admins, disabled, locked] = await Promise.all([
      this.#estimatedTotal(),
      this.#accounts.countBy({ isAdmin: true }),
      this.#accounts.countBy({ disabled: true }),
      this.#accounts.countBy({ lockedUntil: MoreThan(now) }),
    ]);
    return { ...users, admins, disabled, locked };
  }

  async #estimatedTotal(): Promise<{ users: number; estimated: boolean }> {
    if (this.dataSource.options.type === 'postgres') {
      const [row] = (await this.dataSource.query("SELECT reltuples::bigint AS estimate FROM pg_class WHERE oid = 'accounts'::regclass")) as { estimate: string }[];
      // -1 (never analyzed) or a small table: counting is as cheap as estimating, and exact.
      const estimate = Number(row?.estimate ?? -1);
      if (estimate >= ESTIMATE_FROM) return { users: estimate, estimated: true };
    }
    return { users: await this.#accounts.count(), estimated: false };
  }

  /** The accounts of these ids that exist, in no particular order. */
  findMany(ids: string[]): Promise<Account[]> {
    const storable = ids.filter(isStorable);
    return storable.length === 0 ? Promise.resolve([]) : this.#accounts.findBy({ id: In(storable) });
  }

  /**
   * Changes the fields given (see ProfileChanges), each checked like at creation; the account as it now is. A changed
   * address is unverified until a link mailed to it is followed (src/mail/email-verifications.ts).
   */
  async updateProfile(id: string, changes: ProfileChanges): Promise<Account> {
    const checked: Partial<Account> = {
      ...(changes.displayName === undefined ? {} : { displayName: checkDisplayName(changes.displayName) }),
      ...(changes.email === undefined ? {} : { email: checkEmail(changes.email) }),
      ...(changes.bio === undefined ? {} : { bio: checkBio(changes.bio) }),
      ...(changes.picture === undefined ? {} : { picture: checkPicture(changes.picture) }),
    };
    if (Object.keys(checked).length === 0) return this.get(id);
    if (checked.email !== undefined && checked.email !== (await this.get(id)).email) checked.emailVerified = false;
    return this.#change(id, checked);
  }

  /**
   * The account a "forgot your password?" request names: by username, else the one account whose address it is (any
   * case); null when none, or when several share the address (no one of them is picked).
   */
  async findForReset(identifier: string, manager?: EntityManager): Promise<Account | null> {
    if (!isStorable(identifier)) return null;
    const accounts = manager ? manager.getRepository(AccountEntity) : this.#accounts;
    const byName = await accounts.findOneBy({ usernameKey: usernameKey(identifier) });
    if (byName || !identifier.includes('@')) return byName;
    const byAddress = await accounts
      .createQueryBuilder('account')
      .where('LOWER(account.email) = :email', { email: identifier.toLowerCase() })
      .take(2)
      .getMany();
    return byAddress.length === 1 ? byAddress[0]! : null;
  }

  /** Marks the account's address verified if it still is `email`; false when it changed meanwhile (or no account). */
  async markEmailVerified(id: string, email: string): Promise<boolean> {
    const result = await this.#accounts.update({ id, email }, { emailVerified: true });
    return result.affected === 1;
  }

  /** Whether the owner gets a mail at each sign-in from a new browser. */
  async setSignInNotices(id: string, on: boolean): Promise<Account> {
    return this.#change(id, { signInNotices: on });
  }

  /** Sets the password hash, or clears it (null: the account cannot sign in until a password is set). */
  async setPasswordHash(id: string, passwordHash: string | null): Promise<void> {
    await this.#change(id, { passwordHash });
  }

  /** Whether the account has a password to sign in with. */
  async hasPassword(id: string): Promise<boolean> {
    const account = await this.#accounts.createQueryBuilder('account').addSelect('account.passwordHash').where({ id }).getOne();
    if (!account) throw new NotFound(`account ${id} not found`);
    return account.passwordHash !== null;
  }

  /** Disables or enables the account; disabling the last enabled admin needs `force` (LastAdmin otherwise). */
  async setDisabled(id: string, disabled: boolean, { force = false }: LastAdminRule = {}): Promise<Account> {
    if (!disabled) return this.#change(id, { disabled });
    if (!(await this.#takeAdminAway(id, { disabled }, force))) throw new NotFound(`account ${id} not found`);
    return this.get(id);
  }

  /** Makes the account an admin of this server (ending first run) or no longer one (the last: see LastAdminRule). */
  async setAdmin(id: string, isAdmin: boolean, { force = false }: LastAdminRule = {}): Promise<Account> {
    await this.get(id);
    if (isAdmin) await this.#makeAdmin((accounts) => accounts.update({ id }, { isAdmin }));
    else if (!(await this.#takeAdminAway(id, { isAdmin }, force))) throw new NotFound(`account ${id} not found`);
    return this.get(id);
  }

  /** Whether the account is the server's only enabled admin: demoting, disabling or deleting it would leave none. */
  isLastAdmin(id: string): Promise<boolean> {
    if (!isStorable(id)) return Promise.resolve(false);
    return this.#accounts
      .createQueryBuilder('account')
      .where('id = :id', { id })
      .andWhere(`NOT ${KEEPS_AN_ADMIN}`, KEEPS_AN_ADMIN_FLAGS)
      .getExists();
  }

  /**
   * Runs one change to who is an admin. On PostgreSQL, in a transaction holding the admins' lock until it commits: two
   * writes taking different admins away at once would otherwise each see the other's admin still there, and both pass
   * KEEPS_AN_ADMIN. On SQLite, where one statement at a time writes the file, as it is (its one connection cannot hold
   * two transactions at once).
   */
  #adminsChange<T>(write: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.dataSource.options.type !== 'postgres') return write(this.dataSource.manager);
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ADMINS_LOCK]);
      return write(manager);
    });
  }

  /**
   * A write that makes an admin, after ending first run (withdrawing every setup token): in one transaction on
   * PostgreSQL, in this order on SQLite, so that no setup token is ever good while an admin exists.
   */
  async #makeAdmin(write: (accounts: Repository<Account>) => Promise<unknown>): Promise<void> {
    await this.#adminsChange(async (manager) => {
      await endFirstRun(manager);
      await write(manager.getRepository(AccountEntity));
    });
  }

  /**
   * Demotes, disables (`changes`) or deletes (null) the account, as one statement that also asks KEEPS_AN_ADMIN unless
   * `force`. False when there is no such account; LastAdmin when it is the last enabled admin.
   */
  async #takeAdminAway(id: string, changes: Partial<Account> | null, force: boolean): Promise<boolean> {
    const account = await this.find(id);
    if (!account) return false;
    const result = await this.#adminsChange((manager) => {
      const statement = changes === null ? manager.createQueryBuilder().delete().from(AccountEntity) : manager.createQueryBuilder().update(AccountEntity).set(changes);
      const where = statement.where('id = :id', { id });
      return (force ? where : where.andWhere(KEEPS_AN_ADMIN, KEEPS_AN_ADMIN_FLAGS)).execute();
    });
    if (result.affected === 1) return true;
    if (await this.find(id)) throw new LastAdmin(account.username);
    return false;
  }

  /** Lifts a lockout and forgets the failed attempts. */
  unlock(id: string): Promise<Account> {
    return this.#change(id, { failedLogins: 0, lockedUntil: null });
  }

  /** Changes an existing account (NotFound otherwise, also for an id no store can hold); the account as it now is. */
  async #change(id: string, changes: Partial<Account>): Promise<Account> {
    await this.get(id);
    await this.#accounts.update({ id }, changes);
    return this.get(id);
  }

  /**
   * Deletes the account (its access links and set-password links go with it); false when there was none. The last
   * enabled admin needs `force` (LastAdmin otherwise).
   */
  delete(id: string, { force = false }: LastAdminRule = {}): Promise<boolean> {
    return this.#takeAdminAway(id, null, force);
  }

  /**
   * Reserves one password check for the account, before the check's verdict is used, in one conditional UPDATE: so
   * that however many sign-ins run at once, at most `maxAttempts` passwords are told apart per lockout. Counts the
   * attempt as failed (a count left over from an expired lock starts again) and, as the count reaches `maxAttempts`,
   * locks the account for `lockSeconds` at once: a process that dies mid-check leaves a lock that expires. A correct
   * password undoes it (`recordSuccessfulLogin`). False, with nothing changed, while the account is locked (or when
   * no account has this id: Authenticator counts attempts without an account that way, with the same statement).
   */
  async reserveLoginAttempt(id: string, maxAttempts: number, lockSeconds: number): Promise<boolean> {
    const now = new Date();
    const lockExpired = 'locked_until IS NOT NULL AND locked_until <= :now';
    const attempts = `CASE WHEN ${lockExpired} THEN 1 ELSE failed_logins + 1 END`;
    const result = await this.#accounts
      .createQueryBuilder()
      .update()
      .set({
        failedLogins: () => attempts,
        // The ELSE keeps locked_until, NULL here (see WHERE): a CASE of parameters and NULLs alone would be text to
        // PostgreSQL, naming the column gives :lockedUntil its type.
        lockedUntil: () => `CASE WHEN ${attempts} >= :maxAttempts THEN :lockedUntil WHEN ${lockExpired} THEN NULL ELSE locked_until END`,
      })
      .where('id = :id AND (locked_until IS NULL OR locked_until <= :now)', {
        id,
        now,
        maxAttempts,
        lockedUntil: new Date(now.getTime() + lockSeconds * 1000),
      })
      .execute();
    return result.affected === 1;
  }

  async recordSuccessfulLogin(id: string): Promise<void> {
    await this.#accounts.update({ id }, { failedLogins: 0, lockedUntil: null, lastLoginAt: new Date() });
  }
}
