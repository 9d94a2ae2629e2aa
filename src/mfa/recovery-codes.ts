// Recovery codes: 10 single-use codes handed out once (at enrolment, or regenerated from /account), for when the
// authenticator is lost. Only the SHA-256 of each is kept (each code holds 80 random bits: a hash cannot be reversed
// by guessing). A code is spent by one conditional UPDATE (`used_at IS NULL`): of two requests using it at once,
// exactly one wins. As a factor kind they stand in for the account's factor at the sign-in step, proving 'otp'.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { IsNull } from 'typeorm';
import type { Account } from '../accounts/account-entity.js';
import type { FactorKind, FactorVerdict, FactorVerifyInput } from './factor-kind.js';
import { RecoveryCodeEntity, type RecoveryCode } from './second-factor-entity.js';

export const RECOVERY_KIND = 'recovery';
export const RECOVERY_CODE_COUNT = 10;
/** Base32 without the letters people misread (RFC 4648's alphabet, lower case): 16 of them make 80 bits. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const CODE_LENGTH = 16;

/** A fresh code, as shown: four groups of four (`abcd-efgh-ijkl-mnop`). */
function newCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  const chars = [...bytes].map((byte) => ALPHABET[byte % ALPHABET.length]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** A code as typed: case, spaces and dashes ignored; null when it cannot be one. */
export function normalizeRecoveryCode(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const code = value.toLowerCase().replace(/[\s-]/g, '');
  return code.length === CODE_LENGTH && [...code].every((char) => ALPHABET.includes(char)) ? code : null;
}

function codeHash(accountId: string, normalized: string): string {
  return createHash('sha256').update(`${accountId}:${normalized}`).digest('hex');
}

export class RecoveryCodes implements FactorKind {
  readonly kind = RECOVERY_KIND;
  readonly label = 'Recovery code';
  readonly primary = false;
  readonly #codes: Repository<RecoveryCode>;

  constructor(private readonly dataSource: DataSource) {
    this.#codes = dataSource.getRepository(RecoveryCodeEntity);
  }

  /** How many unused codes the account has. */
  remaining(accountId: string): Promise<number> {
    return this.#codes.countBy({ accountId, usedAt: IsNull() });
  }

  /** Replaces the account's codes with RECOVERY_CODE_COUNT new ones, returned once (only their hashes are kept). */
  async generate(accountId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(RecoveryCodeEntity);
      await repository.delete({ accountId });
      await repository.insert(
        codes.map((code) => ({ id: randomUUID(), accountId, codeHash: codeHash(accountId, normalizeRecoveryCode(code)!), usedAt: null, createdAt: new Date() })),
      );
    });
    return codes;
  }

  /** Removes every code of the account (its factors were reset); how many there were. */
  async removeAll(accountId: string): Promise<number> {
    return (await this.#codes.delete({ accountId })).affected ?? 0;
  }

  async available(account: Account): Promise<boolean> {
    return (await this.remaining(account.id)) > 0;
  }

  async challenge(): Promise<Record<string, unknown>> {
    return {};
  }

  async verify({ account, form }: FactorVerifyInput): Promise<FactorVerdict> {
    const code = normalizeRecoveryCode(form.code);
    if (!code) return { ok: false, reason: 'malformed' };
    const result = await this.#codes
      .createQueryBuilder()
      .update()
      .set({ usedAt: new Date() })
      .where('account_id = :accountId AND code_hash = :hash AND used_at IS NULL', { accountId: account.id, hash: codeHash(account.id, code) })
      .execute();
    if (result.affected !== 1) return { ok: false, reason: 'wrong_code' };
    return { ok: true, amr: ['otp'], factorId: null, details: { recovery_code: true, remaining: await this.remaining(account.id) } };
  }
}
