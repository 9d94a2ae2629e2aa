// What first run needs from the database: whether the server has an admin yet, the setup tokens it prints in its log
// until it does, and a lock so that of any number of concurrent first-run requests, on any number of nodes, exactly
// one creates the first admin.
// Setup tokens live in the database (their SHA-256 only), not in memory: every node and cluster worker prints its
// own at start, and a form posted to any of them must accept it. They all go once the first admin exists.
import { createHash, randomBytes } from 'node:crypto';
import { LessThan, type DataSource, type Repository } from 'typeorm';
import { type Account, AccountEntity } from './account-entity.js';
import { type SetupLock, SetupLockEntity, type SetupToken, SetupTokenEntity } from './first-run-entities.js';

const LOCK_ID = 'first-admin';
/**
 * A lock older than this was left by a process that died holding it (creating an account takes a password hash and
 * two writes: well under a second): the next request takes it over.
 */
const STALE_LOCK_MS = 60_000;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class FirstRunStore {
  readonly #accounts: Repository<Account>;
  readonly #tokens: Repository<SetupToken>;
  readonly #locks: Repository<SetupLock>;

  constructor(dataSource: DataSource) {
    this.#accounts = dataSource.getRepository(AccountEntity);
    this.#tokens = dataSource.getRepository(SetupTokenEntity);
    this.#locks = dataSource.getRepository(SetupLockEntity);
  }

  /** Whether the server still waits for its first admin. */
  async needed(): Promise<boolean> {
    return !(await this.#accounts.existsBy({ isAdmin: true }));
  }

  /** A new setup token, to print in the log: shown once, kept only as its digest. */
  async issueSetupToken(): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await this.#tokens.insert({ id: digest(token) });
    return token;
  }

  async isSetupToken(token: string): Promise<boolean> {
    return token !== '' && this.#tokens.existsBy({ id: digest(token) });
  }

  /**
   * Runs `create` holding the first-admin lock, if there is no admin yet when the lock is held; then withdraws every
   * setup token. 'taken' when another request holds the lock or an admin exists: nothing was run.
   */
  async whileNoAdmin<T>(create: () => Promise<T>): Promise<T | 'taken'> {
    const holder = randomBytes(16).toString('hex');
    if (!(await this.#lock(holder))) return 'taken';
    try {
      if (!(await this.needed())) return 'taken';
      const created = await create();
      await this.#tokens.createQueryBuilder().delete().execute();
      return created;
    } finally {
      await this.#locks.delete({ id: LOCK_ID, holder });
    }
  }

  /** Takes the lock: one INSERT, of which concurrent ones leave exactly one row; or takes over a stale lock. */
  async #lock(holder: string): Promise<boolean> {
    await this.#locks.createQueryBuilder().insert().values({ id: LOCK_ID, holder, lockedAt: new Date() }).orIgnore().execute();
    if ((await this.#locks.findOneBy({ id: LOCK_ID }))?.holder === holder) return true;
    const stale = new Date(Date.now() - STALE_LOCK_MS);
    const takeover = await this.#locks.update({ id: LOCK_ID, lockedAt: LessThan(stale) }, { holder, lockedAt: new Date() });
    return takeover.affected === 1;
  }
}
