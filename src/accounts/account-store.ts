import { v7 as uuidv7 } from 'uuid';
import type { DataSource, Repository } from 'typeorm';
import { BadRequest, Conflict, NotFound } from '../errors.js';
import { type Account, AccountEntity } from './account-entity.js';

export interface NewAccount {
  username: string;
  passwordHash: string | null;
  displayName?: string | null;
  email?: string | null;
  isAdmin?: boolean;
}

const USERNAME = /^[^\s\p{C}][^\p{C}]{0,48}[^\s\p{C}]$|^[^\s\p{C}]$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Validates a username: 1 to 50 printable characters, no leading or trailing space. */
export function checkUsername(username: string): string {
  if (!USERNAME.test(username)) throw new BadRequest('username must be 1 to 50 printable characters, without leading or trailing spaces');
  return username;
}

function checkDisplayName(displayName: string | null | undefined): string | null {
  if (displayName === undefined || displayName === null || displayName.trim() === '') return null;
  if (displayName.length > 100) throw new BadRequest('display name must be at most 100 characters');
  return displayName.trim();
}

function checkEmail(email: string | null | undefined): string | null {
  if (email === undefined || email === null || email === '') return null;
  if (email.length > 255 || !EMAIL.test(email)) throw new BadRequest('email is not a valid address');
  return email;
}

/** Reads and writes accounts. The password hash is only read by `findForLogin`. */
export class AccountStore {
  readonly #accounts: Repository<Account>;

  constructor(dataSource: DataSource) {
    this.#accounts = dataSource.getRepository(AccountEntity);
  }

  async create(input: NewAccount): Promise<Account> {
    const username = checkUsername(input.username);
    const usernameKey = username.toLowerCase();
    if (await this.#accounts.existsBy({ usernameKey })) throw new Conflict(`username "${username}" is taken`);
    const account = this.#accounts.create({
      id: uuidv7(),
      username,
      usernameKey,
      displayName: checkDisplayName(input.displayName),
      email: checkEmail(input.email),
      passwordHash: input.passwordHash,
      isAdmin: input.isAdmin ?? false,
      disabled: false,
      failedLogins: 0,
      lockedUntil: null,
      bio: null,
      picture: null,
      lastLoginAt: null,
    });
    await this.#accounts.insert(account);
    return this.get(account.id);
  }

  find(id: string): Promise<Account | null> {
    return this.#accounts.findOneBy({ id });
  }

  async get(id: string): Promise<Account> {
    const account = await this.find(id);
    if (!account) throw new NotFound(`account ${id} not found`);
    return account;
  }

  findByUsername(username: string): Promise<Account | null> {
    return this.#accounts.findOneBy({ usernameKey: username.toLowerCase() });
  }

  /** The account with its password hash, for checking a sign-in. */
  findForLogin(username: string): Promise<Account | null> {
    return this.#accounts
      .createQueryBuilder('account')
      .addSelect('account.passwordHash')
      .where('account.usernameKey = :key', { key: username.toLowerCase() })
      .getOne();
  }

  list(): Promise<Account[]> {
    return this.#accounts.find({ order: { usernameKey: 'ASC' } });
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.#accounts.update({ id }, { passwordHash });
  }

  /** Counts a failed password; locks the account for `lockSeconds` once `maxAttempts` is reached. */
  async recordFailedLogin(id: string, maxAttempts: number, lockSeconds: number): Promise<{ locked: boolean }> {
    await this.#accounts.increment({ id }, 'failedLogins', 1);
    const account = await this.get(id);
    if (account.failedLogins < maxAttempts) return { locked: false };
    await this.#accounts.update({ id }, { failedLogins: 0, lockedUntil: new Date(Date.now() + lockSeconds * 1000) });
    return { locked: true };
  }

  async recordSuccessfulLogin(id: string): Promise<void> {
    await this.#accounts.update({ id }, { failedLogins: 0, lockedUntil: null, lastLoginAt: new Date() });
  }
}
