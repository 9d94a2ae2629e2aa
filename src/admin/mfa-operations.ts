// What can be done to an account's second factors, for every way of asking (the account page, the console, the CLI,
// the admin API): enrol an authenticator app, remove a factor, make new recovery codes, and an admin's reset of them
// all (which ends the account's sessions: whoever held one with the old factors must sign in again). Each is audited.
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { AuditDetails } from '../audit/audit-event-entity.js';
import type { AuditLog } from '../audit/audit-log.js';
import { AppError, NotFound } from '../errors.js';
import type { FactorSummary, SecondFactors } from '../mfa/second-factors.js';
import type { TotpFactor } from '../mfa/totp-factor.js';
import type { AccountSessions, EndedSessions } from '../provider/account-sessions.js';
import { type Actor, recordAccountChange } from './account-operations.js';

export interface MfaOperationsDependencies {
  accounts: AccountStore;
  secondFactors: SecondFactors;
  totp: TotpFactor;
  sessions: AccountSessions;
  audit: AuditLog;
}

const ENROLMENT_REFUSALS = {
  expired: 'this set-up expired: start it again',
  wrong_code: 'that code was not accepted: type the code the app shows now',
  already_enrolled: 'an authenticator app is already set up: remove it first to set up another',
} as const;

export class MfaOperations {
  constructor(private readonly deps: MfaOperationsDependencies) {}

  /** Which factors the account has and how many recovery codes are left: never a secret. */
  async list(accountId: string): Promise<FactorSummary> {
    await this.deps.accounts.get(accountId);
    return this.deps.secondFactors.summary(accountId);
  }

  /**
   * Turns on the authenticator app of an enrolment (totp-factor.ts) confirmed with a code from it, and makes the
   * account's recovery codes (replacing any): returned once. A refused code is audited and thrown (400).
   */
  async enrolTotp(account: Account, binding: string, sealed: unknown, code: unknown, actor: Actor): Promise<string[]> {
    const result = await this.deps.totp.confirmEnrolment(account, binding, sealed, code);
    if (!result.ok) {
      await this.record('mfa.failed', account.id, actor, { kind: this.deps.totp.kind, reason: result.reason, enrolment: true }, 'failure');
      throw new AppError('enrolment_refused', ENROLMENT_REFUSALS[result.reason], { status: 400 });
    }
    await this.record('mfa.enrolled', account.id, actor, { kind: this.deps.totp.kind, factor_id: result.factorId });
    return this.regenerateRecoveryCodes(account.id, actor);
  }

  /** New recovery codes for the account (the old ones stop working), returned once. */
  async regenerateRecoveryCodes(accountId: string, actor: Actor): Promise<string[]> {
    const codes = await this.deps.secondFactors.recoveryCodes.generate(accountId);
    await this.record('mfa.recovery_codes_generated', accountId, actor, { count: codes.length });
    return codes;
  }

  /** Removes one factor of the account (its owner, from the account page). Without any left, its recovery codes go too. */
  async remove(accountId: string, factorId: string, actor: Actor): Promise<void> {
    const factor = (await this.deps.secondFactors.store.list(accountId)).find((candidate) => candidate.id === factorId);
    if (!factor || !(await this.deps.secondFactors.store.remove(accountId, factorId))) throw new NotFound('no such second factor');
    const account = await this.deps.accounts.get(accountId);
    const codesRemoved = (await this.deps.secondFactors.hasFactor(account)) ? 0 : await this.deps.secondFactors.recoveryCodes.removeAll(accountId);
    await this.record('mfa.removed', accountId, actor, { kind: factor.kind, factor_id: factor.id, name: factor.name, recovery_codes_removed: codesRemoved });
  }

  /**
   * An admin's reset: every factor and recovery code of the account removed, and its sessions ended (with
   * back-channel logout), so that it signs in again with its password and, if a policy demands it, enrols afresh.
   */
  async reset(accountId: string, actor: Actor): Promise<{ removed: number } & EndedSessions> {
    await this.deps.accounts.get(accountId);
    const removed = await this.deps.secondFactors.reset(accountId);
    const ended = await this.deps.sessions.endAll(accountId);
    await this.record('mfa.reset', accountId, actor, { removed, ...ended });
    return { removed, ...ended };
  }

  private async record(action: string, accountId: string, actor: Actor, details: AuditDetails, outcome: 'success' | 'failure' = 'success'): Promise<void> {
    await recordAccountChange(this.deps.audit, { action, accountId, actor, details, outcome });
  }
}
