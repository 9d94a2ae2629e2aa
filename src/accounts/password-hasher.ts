import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import type { Config } from '../../config/index.js';

const BCRYPT = /^\$2[aby]\$\d{2}\$/;

export interface PasswordCheck {
  valid: boolean;
  /** A fresh argon2id hash to store when the stored one is legacy (bcrypt) or weaker than today's parameters. */
  rehash?: string;
}

/** argon2id with the configured (OWASP) cost; verifies imported ChillFi3 bcrypt hashes and upgrades them. */
export class PasswordHasher {
  readonly #options: argon2.HashOptions & { raw?: false };

  constructor(cost: Config['argon2']) {
    this.#options = { type: argon2.argon2id, memoryCost: cost.memoryCost, timeCost: cost.timeCost, parallelism: cost.parallelism };
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.#options);
  }

  async verify(storedHash: string, password: string): Promise<PasswordCheck> {
    if (BCRYPT.test(storedHash)) {
      const valid = await bcrypt.compare(password, storedHash);
      return valid ? { valid, rehash: await this.hash(password) } : { valid };
    }
    if (!storedHash.startsWith('$argon2')) return { valid: false };
    const valid = await argon2.verify(storedHash, password);
    if (valid && argon2.needsRehash(storedHash, this.#options)) return { valid, rehash: await this.hash(password) };
    return { valid };
  }

  /** Burns the same time as a real check, so an unknown username is not told apart by timing. */
  async verifyNothing(password: string): Promise<void> {
    await this.hash(password);
  }
}
