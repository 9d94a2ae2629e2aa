// Passkeys as a second factor after the password (src/mfa/factor-kind.ts): offered to an account with at least one
// passkey, its challenge bound to the sign-in step and to the account (only its own passkeys answer), checked by
// PasskeyCeremonies like a passkey-first sign-in (user verified, counter moving forward). The passkeys live in their
// own table (src/accounts/passkey-store.ts): this kind lists and removes them for the admin views and the reset.
import type { Account } from '../accounts/account-entity.js';
import { passkeyKeyAmr, type PasskeyCeremonies } from '../accounts/passkey-ceremonies.js';
import type { PasskeyStore } from '../accounts/passkey-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { FactorChallengeInput, FactorKind, FactorVerdict, FactorVerifyInput, OwnFactor } from './factor-kind.js';

export const PASSKEY_KIND = 'passkey';

export interface PasskeyFactorDependencies {
  passkeys: PasskeyStore;
  /** Null where passkeys cannot work (an issuer on an IP address): the kind is then never available. */
  ceremonies: PasskeyCeremonies | null;
  audit: AuditLog;
}

/** The step's challenge binding: one live passkey challenge per sign-in step. */
function bindingOf(stepId: string): string {
  return `factor:${stepId}`;
}

export class PasskeyFactor implements FactorKind {
  readonly kind = PASSKEY_KIND;
  readonly label = 'Passkey';
  readonly primary = true;

  constructor(private readonly deps: PasskeyFactorDependencies) {}

  async available(account: Account): Promise<boolean> {
    return this.deps.ceremonies !== null && (await this.deps.passkeys.listOf(account.id)).length > 0;
  }

  /** `options`: the WebAuthn request options as JSON text, for views/factors/passkey.ejs and its script. */
  async challenge({ account, stepId }: FactorChallengeInput): Promise<Record<string, unknown>> {
    if (!this.deps.ceremonies) return {};
    return { options: JSON.stringify(await this.deps.ceremonies.authenticationOptions(bindingOf(stepId), account)) };
  }

  async verify({ account, stepId, form }: FactorVerifyInput): Promise<FactorVerdict> {
    if (!this.deps.ceremonies) return { ok: false, reason: 'unavailable' };
    const check = await this.deps.ceremonies.authenticate(bindingOf(stepId), typeof form.response === 'string' ? form.response : '');
    if (!check.ok) {
      if (check.reason === 'counter_regressed') {
        await this.deps.audit.record({
          action: 'passkey.counter_regressed',
          outcome: 'failure',
          accountId: account.id,
          details: { passkey_id: check.passkey?.id ?? null, name: check.passkey?.name ?? null, detail: check.detail ?? null, second_factor: true },
        });
      }
      return { ok: false, reason: check.reason, factorId: check.passkey?.id ?? null };
    }
    return { ok: true, amr: [passkeyKeyAmr(check.passkey.backedUp)], factorId: check.passkey.id, details: { name: check.passkey.name } };
  }

  async listOwn(accountId: string): Promise<OwnFactor[]> {
    const passkeys = await this.deps.passkeys.listOf(accountId);
    return passkeys.map(({ id, name, createdAt, lastUsedAt }) => ({ id, kind: PASSKEY_KIND, name, createdAt, lastUsedAt }));
  }

  removeAllOwn(accountId: string): Promise<number> {
    return this.deps.passkeys.removeAllOf(accountId);
  }
}
