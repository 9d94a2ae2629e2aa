// The rows of second_factors: every kind's factors, read and changed here alone.
import { randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { isDuplicateKey } from '../db/duplicate-key.js';
import { SecondFactorEntity, type SecondFactor } from './second-factor-entity.js';

export interface NewSecondFactor {
  /** A fixed id makes the insert itself refuse a second one (one TOTP per account: totp-factor.ts); else random. */
  id?: string;
  accountId: string;
  kind: string;
  name: string;
  secretSealed?: string | null;
  data?: Record<string, unknown> | null;
  lastCounter?: number | null;
}

export class SecondFactorStore {
  readonly #factors: Repository<SecondFactor>;

  constructor(dataSource: DataSource) {
    this.#factors = dataSource.getRepository(SecondFactorEntity);
  }

  /** The account's factors, oldest first, without their secrets. */
  list(accountId: string, kind?: string): Promise<SecondFactor[]> {
    return this.#factors.find({ where: { accountId, ...(kind ? { kind } : {}) }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** The account's factors of `kind` with their sealed secrets: for the kind that verifies them only. */
  withSecrets(accountId: string, kind: string): Promise<SecondFactor[]> {
    return this.#factors
      .createQueryBuilder('factor')
      .addSelect('factor.secretSealed')
      .where('factor.account_id = :accountId AND factor.kind = :kind', { accountId, kind })
      .orderBy('factor.created_at', 'ASC')
      .getMany();
  }

  /** Adds a factor; null when one with its (fixed) id exists already, nothing written. */
  async add(input: NewSecondFactor): Promise<SecondFactor | null> {
    const factor = this.#factors.create({
      id: input.id ?? randomUUID(),
      accountId: input.accountId,
      kind: input.kind,
      name: input.name,
      secretSealed: input.secretSealed ?? null,
      data: input.data ?? null,
      lastCounter: input.lastCounter ?? null,
      createdAt: new Date(),
      lastUsedAt: null,
    });
    try {
      await this.#factors.insert(factor as Parameters<Repository<SecondFactor>['insert']>[0]);
      return factor;
    } catch (error) {
      if (isDuplicateKey(error)) return null;
      throw error;
    }
  }

  /**
   * Raises the factor's counter to `counter` and stamps its use, if `counter` is above the one recorded: true for the
   * one request that did (of any number asking at once with the same value), false for a value already used.
   */
  async advanceCounter(id: string, counter: number): Promise<boolean> {
    const result = await this.#factors
      .createQueryBuilder()
      .update()
      .set({ lastCounter: counter, lastUsedAt: new Date() })
      .where('id = :id AND (last_counter IS NULL OR last_counter < :counter)', { id, counter })
      .execute();
    return result.affected === 1;
  }

  /** Stamps a use of a factor whose replays its kind refuses otherwise. */
  async touch(id: string): Promise<void> {
    await this.#factors.update({ id }, { lastUsedAt: new Date() });
  }

  /** Removes one of the account's factors; false when it has no such factor. */
  async remove(accountId: string, id: string): Promise<boolean> {
    const result = await this.#factors.delete({ id, accountId });
    return (result.affected ?? 0) > 0;
  }

  /** Removes every factor of the account; how many there were. */
  async removeAll(accountId: string): Promise<number> {
    const result = await this.#factors.delete({ accountId });
    return result.affected ?? 0;
  }
}
