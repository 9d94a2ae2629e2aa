// Every change to the passkeys of an account, audited as every account change is (who acted, how, from where):
// registering one (the ceremony's check in src/accounts/passkey-ceremonies.ts), removing one, and removing them all
// (an admin's reset of a person's second factors). A passkey is a second factor as an authenticator app is, so the
// recovery codes follow the same rule: the first factor comes with them, and they go with the last one.
import type { Account } from '../accounts/account-entity.js';
import type { PasskeyCeremonies } from '../accounts/passkey-ceremonies.js';
import type { Passkey } from '../accounts/passkey-entity.js';
import type { PasskeyStore } from '../accounts/passkey-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditDetails } from '../audit/audit-event-entity.js';
import { AppError, NotFound } from '../errors.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import { type Actor, recordAccountChange } from './account-operations.js';

export interface PasskeyOperationsDependencies {
  passkeys: PasskeyStore;
  ceremonies: PasskeyCeremonies | null;
  secondFactors: SecondFactors;
  audit: AuditLog;
}

/** A registered passkey, and the recovery codes made with it when the account had none (shown once), else null. */
export interface RegisteredPasskey {
  passkey: Passkey;
  recoveryCodes: string[] | null;
}

export class PasskeyOperations {
  constructor(private readonly deps: PasskeyOperationsDependencies) {}

  /**
   * Checks the ceremony's answer and registers the passkey as `name`; a refusal is audited and thrown (a 4xx). An
   * account without recovery codes gets them now: signing in with its password asks for a second factor from here
   * on, and a lost passkey must not need an admin.
   */
  async register(account: Account, binding: string, answer: string, name: string, actor: Actor): Promise<RegisteredPasskey> {
    const { ceremonies, secondFactors } = this.deps;
    if (!ceremonies) throw new NotFound('passkeys are not available on this server');
    let passkey: Passkey;
    try {
      passkey = await ceremonies.register(account, binding, answer, name);
    } catch (error) {
      if (error instanceof AppError && error.status < 500) {
        await this.#record('passkey.registered', account.id, { name, reason: error.message }, actor, 'failure');
      }
      throw error;
    }
    await this.#record('passkey.registered', account.id, { passkey_id: passkey.id, name: passkey.name, backed_up: passkey.backedUp }, actor);
    if ((await secondFactors.recoveryCodes.remaining(account.id)) > 0) return { passkey, recoveryCodes: null };
    const recoveryCodes = await secondFactors.recoveryCodes.generate(account.id);
    await this.#record('mfa.recovery_codes_generated', account.id, { count: recoveryCodes.length, with: 'passkey' }, actor);
    return { passkey, recoveryCodes };
  }

  /** Removes one passkey of the account (and its recovery codes, when no second factor is left); NotFound when it has none by that id. */
  async remove(accountId: string, passkeyId: string, actor: Actor): Promise<Passkey> {
    const removed = await this.deps.passkeys.remove(accountId, passkeyId);
    if (!removed) throw new NotFound('that passkey is not registered to this account');
    const { secondFactors } = this.deps;
    const factorsLeft = (await secondFactors.summary(accountId)).factors.length;
    const codesRemoved = factorsLeft > 0 ? 0 : await secondFactors.recoveryCodes.removeAll(accountId);
    await this.#record('passkey.removed', accountId, { passkey_id: removed.id, name: removed.name, recovery_codes_removed: codesRemoved }, actor);
    return removed;
  }

  /** Removes every passkey of the account; how many there were (none: nothing is audited). */
  async removeAll(accountId: string, actor: Actor): Promise<number> {
    const count = await this.deps.passkeys.removeAllOf(accountId);
    if (count > 0) await this.#record('passkey.removed', accountId, { count }, actor);
    return count;
  }

  async #record(action: string, accountId: string, details: AuditDetails, actor: Actor, outcome: 'success' | 'failure' = 'success'): Promise<void> {
    await recordAccountChange(this.deps.audit, { action, accountId, actor, details, outcome });
  }
}
