// Carries out an import plan (import-plan.ts) through the account and instance stores, each change in the audit trail
// as the shell's (account.created, account.password_set, access.granted, access.changed, with `imported: chillfi3`). A row that fails here
// (say, a username taken meanwhile) is reported with its id; the others go on.
//
// New accounts, most of an import, are written in bulk: BULK_ROWS at a time, their accounts, access links and audit
// entries in one transaction of three INSERTs. A batch the database refuses as a whole (a username taken meanwhile, a
// field a store refuses) is rolled back and written again row by row, as every other step is, so that each row still
// succeeds or fails on its own and is reported so.
import type { DataSource } from 'typeorm';
import type { Account } from '../accounts/account-entity.js';
import { AccountEntity } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import { actorDetails, type Actor } from '../admin/account-operations.js';
import { type AuditDetails, AuditEventEntity } from '../audit/audit-event-entity.js';
import { type AuditEntry, type AuditLog, auditRow } from '../audit/audit-log.js';
import { AppError } from '../errors.js';
import { InstanceAccessEntity } from '../instances/instance-access-entity.js';
import { accessRow, type InstanceStore } from '../instances/instance-store.js';
import type { ImportStep } from './import-plan.js';

export interface ImportTarget {
  dataSource: DataSource;
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
/** New accounts per bulk transaction: PostgreSQL's statements stay short; SQLite's within its parameters per statement. */
const BULK_ROWS = { postgres: 500, sqlite: 60 };

/** Bulk transactions at once on PostgreSQL. */
const BULK_CONCURRENCY = 4;

type CreateStep = Extract<ImportStep, { kind: 'create' }>;

export async function applyImport(
  steps: readonly ImportStep[],
  target: ImportTarget,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<AppliedStep[]> {
  const applied: AppliedStep[] = new Array<AppliedStep>(steps.length);
  let done = 0;
  const progress = () => onProgress(++done, steps.length);
  const creates = steps.flatMap((step, index) => (step.kind === 'create' ? [index] : []));
  const others = steps.flatMap((step, index) => (step.kind === 'create' ? [] : [index]));
  const size = target.dataSource.options.type === 'postgres' ? BULK_ROWS.postgres : BULK_ROWS.sqlite;
  const batches = Array.from({ length: Math.ceil(creates.length / size) }, (_, index) => creates.slice(index * size, (index + 1) * size));
  let next = 0;
  async function bulkWorker(): Promise<void> {
    for (let batch = batches[next++]; batch; batch = batches[next++]) {
      const accountIds = await createInBulk(batch.map((index) => steps[index] as CreateStep), target).catch(() => null);
      if (!accountIds) {
        await oneByOne(batch, steps, target, applied, progress);
        continue;
      }
      batch.forEach((index, position) => {
        applied[index] = { ...(steps[index] as CreateStep), accountId: accountIds[position] as string };
        progress();
      });
    }
  }
  // PostgreSQL writes a few batches at once, each in a transaction of its own; SQLite's one connection, one.
  await Promise.all(Array.from({ length: target.dataSource.options.type === 'postgres' ? BULK_CONCURRENCY : 1 }, bulkWorker));
  await oneByOne(others, steps, target, applied, progress);
  return applied;
}

/** Writes the steps of these indexes one at a time, CONCURRENCY at once, each succeeding or failing on its own. */
async function oneByOne(indexes: readonly number[], steps: readonly ImportStep[], target: ImportTarget, applied: AppliedStep[], progress: () => void): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    for (let at = next++; at < indexes.length; at = next++) {
      const index = indexes[at] as number;
      const step = steps[index] as ImportStep;
      applied[index] = await applyStep(step, target).then(
        (accountId) => (accountId ? { ...step, accountId } : step),
        (error: unknown) => ({ ...step, failed: error instanceof AppError ? error.message : String(error) }),
      );
      progress();
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** The new accounts of `steps`, their access and their audit entries in one transaction; their ids, in order. */
async function createInBulk(steps: readonly CreateStep[], target: ImportTarget): Promise<string[]> {
  const accounts = target.accounts.importedRows(
    steps.map(({ user }) => ({ username: user.username, passwordHash: user.passwordHash, displayName: user.displayName, bio: user.bio, picture: user.picture })),
  );
  const links = steps.map(({ user }, index) => accessRow(target.instanceId, (accounts[index] as Account).id, user.role, user.localId));
  const entries = steps.flatMap(({ user }, index) => {
    const account = accounts[index] as Account;
    return [
      auditRow(entryOf(target, 'account.created', account.id, { username: account.username })),
      auditRow(entryOf(target, 'access.granted', account.id, { role: user.role, local_user_id: user.localId })),
    ];
  });
  await target.dataSource.transaction(async (manager) => {
    await manager.getRepository(AccountEntity).insert(accounts);
    await manager.getRepository(InstanceAccessEntity).insert(links);
    // Two entries a row: in halves, to keep SQLite's statements within its parameters too.
    const half = Math.ceil(entries.length / 2);
    await manager.getRepository(AuditEventEntity).insert(entries.slice(0, half));
    if (entries.length > half) await manager.getRepository(AuditEventEntity).insert(entries.slice(half));
  });
  return accounts.map((account) => account.id);
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

function entryOf(target: ImportTarget, action: string, accountId: string, details: AuditDetails): AuditEntry {
  return { action, outcome: 'success', accountId, instanceId: target.instanceId, details: { ...details, imported: 'chillfi3', ...actorDetails(target.actor) } };
}

function record(target: ImportTarget, action: string, accountId: string, details: AuditDetails): Promise<void> {
  return target.audit.record(entryOf(target, action, accountId, details));
}
