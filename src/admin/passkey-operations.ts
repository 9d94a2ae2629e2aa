// Every change to the passkeys of an account, audited as every account change is (who acted, how, from where):
// registering one (the ceremony's check in src/accounts/passkey-ceremonies.ts), removing one, and removing them all
// (an admin's reset of a person's second factors).
import type { Account } from '../accounts/account-entity.js';
import type { PasskeyCeremonies } from '../accounts/passkey-ceremonies.js';
import type { Passkey } from '../accounts/passkey-entity.js';
import type { PasskeyStore } from '../accounts/passkey-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditDetails } from '../audit/audit-event-entity.js';
import { AppError, NotFound } from '../errors.js';
import { type Actor, actorDetails } from './account-operations.js';

export interface PasskeyOperationsDependencies {
  passkeys: PasskeyStore;
  ceremonies: PasskeyCeremonies | null;
  audit: AuditLog;
}

export class PasskeyOperations {
  constructor(private readonly deps: PasskeyOperationsDependencies) {}

  /** Checks the ceremony's answer and registers the passkey as `name`; a refusal is audited and thrown (a 4xx). */
  async register(account: Account, binding: string, answer: string, name: string, actor: Actor): Promise<Passkey> {
    const { ceremonies } = this.deps;
    if (!ceremonies) throw new NotFound('passkeys are not available on this server');
    try {
      const passkey = await ceremonies.register(account, binding, answer, name);
      await this.#record('passkey.registered', account.id, { passkey_id: passkey.id, name: passkey.name, backed_up: passkey.backedUp }, actor);
      return passkey;
    } catch (error) {
      if (error instanceof AppError && error.status < 500) {
        await this.#record('passkey.registered', account.id, { name, reason: error.message }, actor, 'failure');
      }
      throw error;
    }
  }

  /** Removes one passkey of the account; NotFound when it has none by that id. */
  async remove(accountId: string, passkeyId: string, actor: Actor): Promise<Passkey> {
    const removed = await this.deps.passkeys.remove(accountId, passkeyId);
    if (!removed) throw new NotFound('that passkey is not registered to this account');
    await this.#record('passkey.removed', accountId, { passkey_id: removed.id, name: removed.name }, actor);
    return removed;
  }

  /** Removes every passkey of the account; how many there were (none: nothing is audited). */
  async removeAll(accountId: string, actor: Actor): Promise<number> {
    const count = await this.deps.passkeys.removeAllOf(accountId);
    if (count > 0) await this.#record('passkey.removed', accountId, { count }, actor);
    return count;
  }

  async #record(action: string, accountId: string, details: AuditDetails, actor: Actor, outcome: 'success' | 'failure' = 'success'): Promise<void> {
    await this.deps.audit.record({
      action,
      outcome,
      accountId,
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
      details: { ...details, ...actorDetails(actor) },
    });
  }
}
