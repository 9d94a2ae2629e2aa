// Reads and writes the passkeys of accounts (passkeys table). A credential id is unique across the server: of two
// registrations of one authenticator's credential, the unique key lets one in. The counter moves by a conditional
// UPDATE, so that two sign-ins read the same counter and only one of them may write past it.
import { v7 as uuidv7 } from 'uuid';
import type { DataSource, Repository } from 'typeorm';
import { isDuplicateKey } from '../db/duplicate-key.js';
import { isStorable } from '../db/storable.js';
import { Conflict } from '../errors.js';
import { type Passkey, PasskeyEntity } from './passkey-entity.js';

/** The longest name a passkey may have (the column's length). */
export const PASSKEY_NAME_MAX = 60;

export type NewPasskey = Omit<Passkey, 'id' | 'createdAt' | 'lastUsedAt'>;

export class PasskeyStore {
  readonly #passkeys: Repository<Passkey>;

  constructor(dataSource: DataSource) {
    this.#passkeys = dataSource.getRepository(PasskeyEntity);
  }

  /** The account's passkeys, oldest first. */
  listOf(accountId: string): Promise<Passkey[]> {
    if (!isStorable(accountId)) return Promise.resolve([]);
    return this.#passkeys.find({ where: { accountId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** The passkey of this credential id, whoever's it is. */
  findByCredentialId(credentialId: string): Promise<Passkey | null> {
    if (!isStorable(credentialId) || credentialId.length > 1400) return Promise.resolve(null);
    return this.#passkeys.findOneBy({ credentialId });
  }

  /** Registers a passkey; Conflict when its credential is registered already. */
  async add(input: NewPasskey): Promise<Passkey> {
    const id = uuidv7();
    try {
      await this.#passkeys.insert({ ...input, id, lastUsedAt: null });
    } catch (error) {
      if (isDuplicateKey(error)) throw new Conflict('this passkey is registered already');
      throw error;
    }
    return (await this.#passkeys.findOneBy({ id })) as Passkey;
  }

  /** Removes one passkey of the account: the removed one, or null when the account has none by that id. */
  async remove(accountId: string, id: string): Promise<Passkey | null> {
    if (!isStorable(id) || !isStorable(accountId)) return null;
    const passkey = await this.#passkeys.findOneBy({ id, accountId });
    if (!passkey) return null;
    const { affected } = await this.#passkeys.delete({ id, accountId });
    return affected === 1 ? passkey : null;
  }

  /** Removes every passkey of the account (an admin's reset of its second factors); how many there were. */
  async removeAllOf(accountId: string): Promise<number> {
    const { affected } = await this.#passkeys.delete({ accountId });
    return affected ?? 0;
  }

  /**
   * Records a sign-in with the passkey: its counter moves from `seen` (what the check read) to `counter`, and its last
   * use is now. False when the counter is no longer `seen` (another sign-in moved it meanwhile, or the passkey is gone).
   */
  async recordUse(id: string, seen: number, counter: number, backedUp: boolean): Promise<boolean> {
    const { affected } = await this.#passkeys.update({ id, counter: seen }, { counter, backedUp, lastUsedAt: new Date() });
    return affected === 1;
  }
}
