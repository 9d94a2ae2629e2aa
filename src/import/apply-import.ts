// Carries out an import plan (import-plan.ts) through the account and instance stores, each change in the audit trail
// as the shell's (account.created, account.password_set, access.granted, access.changed, with `imported: chillfi3`). A row that fails here
// (say, a username taken meanwhile) is reported with its id; the others go on.
import type { AccountStore } from '../accounts/account-store.js';
import { actorDetails, type Actor } from '../admin/account-operations.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditDetails } from '../audit/audit-event-entity.js';
import { AppError } from '../errors.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { ImportStep } from './import-plan.js';

export interface ImportTarget {
  accounts: AccountStore;
  instances: InstanceStore;
  audit: AuditLog;
  instanceId: string;
  /** Who imports (the command line's operator), for the audit trail. */
  actor: Actor;
}

/** A step as carried out: with the account it created, or the reason it failed (then it counts as a bad row). */
export type AppliedStep = ImportStep & { accountId?: string; failed?: string };

/** Rows written at once: PostgreSQL serves them in parallel; SQLite, one at a time, loses nothing by it. */
const CONCURRENCY = 8;

export async function applyImport(
  steps: readonly ImportStep[],
  target: ImportTarget,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<AppliedStep[]> {
  const applied: AppliedStep[] = new Array<AppliedStep>(steps.length);
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    for (let index = next++; index < steps.length; index = next++) {
      const step = steps[index] as ImportStep;
      applied[index] = await applyStep(step, target).then(
        (accountId) => (accountId ? { ...step, accountId } : step),
        (error: unknown) => ({ ...step, failed: error instanceof AppError ? error.message : String(error) }),
      );
      onProgress(++done, steps.length);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return applied;
}

/** Writes one step; the id of the account it created, if any. */
async function applyStep(step: ImportStep, target: ImportTarget): Promise<string | undefined> {
  const { accounts, instances, instanceId } = target;
  switch (step.kind) {
    case 'create': {
      const { user } = step;
      const account = await accounts.createImported({ username: user.username, passwordHash: user.passwordHash, displayName: user.displayName });
      try {
        if (user.bio !== null || user.picture !== null) await accounts.updateProfile(account.id, { bio: user.bio, picture: user.picture });
        await instances.grantAccess(instanceId, account.id, user.role, user.localId);
      } catch (error) {
        // Half an import would be a clash on the next run: the account goes, the row is reported, a re-run retries it.
        await accounts.delete(account.id);
        throw error;
      }
      await record(target, 'account.created', account.id, { username: account.username });
      await record(target, 'access.granted', account.id, { role: user.role, local_user_id: user.localId });
      return account.id;
    }
    case 'link':
      if (step.setPassword) {
        await accounts.setPasswordHash(step.account.id, step.user.passwordHash);
        await record(target, 'account.password_set', step.account.id, { with: 'import' });
      }
      await instances.grantAccess(instanceId, step.account.id, step.user.role, step.user.localId);
      await record(target, 'access.granted', step.account.id, { role: step.user.role, local_user_id: step.user.localId, matched_by: step.reason });
      return undefined;
    case 'update':
      await instances.updateAccess(instanceId, step.account.id, { role: step.user.role });
      await record(target, 'access.changed', step.account.id, { role: step.user.role, local_user_id: step.user.localId });
      return undefined;
    default:
      return undefined;
  }
}

function record(target: ImportTarget, action: string, accountId: string, details: AuditDetails): Promise<void> {
  return target.audit.record({
    action,
    outcome: 'success',
    accountId,
    instanceId: target.instanceId,
    details: { ...details, imported: 'chillfi3', ...actorDetails(target.actor) },
  });
}
