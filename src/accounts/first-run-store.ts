// What first run needs from the database: whether the server has ever had an admin, the setup tokens it prints in
// its log until it has, and a lock so that of any number of concurrent first-run requests, on any number of nodes,
// exactly one creates the first admin.
// Setup tokens live in the database (their SHA-256 only), not in memory: every node and cluster worker prints its
// own at start, and a form posted to any of them must accept it. First run ends for good with the first admin, made
// by whatever path (the first-run page, the CLI, the console, the admin API): the account store's write that makes an
// admin also marks first run over and withdraws every setup token (endFirstRun), in its transaction on PostgreSQL and
// just before it on SQLite. A server that loses its admins later does not open first run again: an operator makes one
// from the shell.
import { createHash, randomBytes } from 'node:crypto';
import { LessThan, type DataSource, type EntityManager, type Repository } from 'typeorm';
import { type ServerSetting, ServerSettingEntity } from '../db/server-setting-entity.js';
import { type SetupLock, SetupLockEntity, type SetupToken, SetupTokenEntity } from './first-run-entities.js';

const LOCK_ID = 'first-admin';
/** The server setting whose row says first run is over; its value is when (ISO 8601). */
const FIRST_ADMIN = 'first_admin';
/**
 * A lock older than this was left by a process that died holding it (creating an account takes a password hash and
 * two writes: well under a second): the next request takes it over.
 */
const STALE_LOCK_MS = 60_000;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Ends first run for good and withdraws every setup token: part of every write that makes an admin
 * (src/accounts/account-store.ts), so that no setup token is good once an admin exists.
 */
export async function endFirstRun(manager: EntityManager): Promise<void> {
  await manager
    .createQueryBuilder()
    .insert()
    .into(ServerSettingEntity)
    .values({ name: FIRST_ADMIN, value: new Date().toISOString() })
    .orIgnore()
    .execute();
  await manager.createQueryBuilder().delete().from(SetupTokenEntity).execute();
}

export class FirstRunStore {
  readonly #settings: Repository<ServerSetting>;
  readonly #tokens: Repository<SetupToken>;
  readonly #locks: Repository<SetupLock>;

  constructor(dataSource: DataSource) {
    this.#settings = dataSource.getRepository(ServerSettingEntity);
    this.#tokens = dataSource.getRepository(SetupTokenEntity);
    this.#locks = dataSource.getRepository(SetupLockEntity);
  }

  /** Whether the server still waits for its first admin: it has never had one. */
  async needed(): Promise<boolean> {
    return !(await this.#settings.existsBy({ name: FIRST_ADMIN }));
  }

  /** A new setup token, to print in the log: shown once, kept only as its digest. */
  async issueSetupToken(): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await this.#tokens.insert({ id: digest(token) });
    return token;
  }

  /** Whether this is a setup token printed at a start, and first run still open (a late start may print one after it ended). */
  async isSetupToken(token: string): Promise<boolean> {
    return token !== '' && (await this.needed()) && this.#tokens.existsBy({ id: digest(token) });
  }

  /**
   * Runs `create` holding the first-admin lock, if first run is still open when the lock is held (creating the admin
   * ends it: endFirstRun). 'taken' when another request holds the lock or first run is over: nothing was run.
   */
  async whileFirstRun<T>(create: () => Promise<T>): Promise<T | 'taken'> {
    const holder = randomBytes(16).toString('hex');
    if (!(await this.#lock(holder))) return 'taken';
    try {
      if (!(await this.needed())) return 'taken';
      return await create();
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
