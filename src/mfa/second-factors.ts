// The registry of second-factor kinds (factor-kind.ts says how one plugs in) and what the rest of the server asks of
// an account's factors: which kinds it can answer with, whether it has any, what an admin may see, and the reset.
import type { Account } from '../accounts/account-entity.js';
import type { FactorKind, OwnFactor } from './factor-kind.js';
import type { RecoveryCodes } from './recovery-codes.js';
import type { SecondFactorStore } from './second-factor-store.js';

/** What an admin (and the user) may see of an account's factors: never a secret. */
export interface FactorSummary {
  factors: OwnFactor[];
  recoveryCodesLeft: number;
}

export class SecondFactors {
  readonly #kinds = new Map<string, FactorKind>();

  constructor(
    readonly store: SecondFactorStore,
    readonly recoveryCodes: RecoveryCodes,
    kinds: readonly FactorKind[],
  ) {
    for (const kind of [...kinds, recoveryCodes]) this.register(kind);
  }

  /** Adds a kind (its id must be new). */
  register(kind: FactorKind): void {
    if (this.#kinds.has(kind.kind)) throw new Error(`second factor kind "${kind.kind}" is registered twice`);
    this.#kinds.set(kind.kind, kind);
  }

  kind(name: string): FactorKind | undefined {
    return this.#kinds.get(name);
  }

  /** The kinds this account can answer with now, primary ones first (recovery codes last). */
  async availableKinds(account: Account): Promise<FactorKind[]> {
    const kinds = [...this.#kinds.values()].sort((a, b) => Number(b.primary) - Number(a.primary));
    const ready = await Promise.all(kinds.map((kind) => kind.available(account)));
    return kinds.filter((_, index) => ready[index]);
  }

  /** Whether the account has a second factor (recovery codes alone are none). */
  async hasFactor(account: Account): Promise<boolean> {
    return (await this.availableKinds(account)).some((kind) => kind.primary);
  }

  async summary(accountId: string): Promise<FactorSummary> {
    const [factors, own, recoveryCodesLeft] = await Promise.all([
      this.store.list(accountId),
      Promise.all([...this.#kinds.values()].map((kind) => kind.listOwn?.(accountId) ?? [])),
      this.recoveryCodes.remaining(accountId),
    ]);
    return {
      factors: [...factors.map(({ id, kind, name, createdAt, lastUsedAt }) => ({ id, kind, name, createdAt, lastUsedAt })), ...own.flat()],
      recoveryCodesLeft,
    };
  }

  /** Removes every factor (those kept by their kinds too: passkeys) and recovery code of the account; how many factors there were. */
  async reset(accountId: string): Promise<number> {
    const removed = await this.store.removeAll(accountId);
    const ownRemoved = await Promise.all([...this.#kinds.values()].map((kind) => kind.removeAllOwn?.(accountId) ?? 0));
    await this.recoveryCodes.removeAll(accountId);
    return removed + ownRemoved.reduce((sum, count) => sum + count, 0);
  }
}
