// The signing keys changed by hand, for the CLI and the admin API alike: a rotation staged, a stage ended early, each
// audited. Running nodes pick the change up by themselves (src/keys/key-set-watch.ts).
import type { AuditLog } from '../audit/audit-log.js';
import type { KeyStore, SigningKeySummary } from '../keys/key-store.js';
import { actorDetails, type Actor } from './account-operations.js';

export class KeyOperations {
  constructor(private readonly deps: { keys: KeyStore; audit: AuditLog }) {}

  list(): Promise<SigningKeySummary[]> {
    return this.deps.keys.list();
  }

  /** Stages a next key for each algorithm: published now, signing after the publish delay. */
  async rotate(algorithms: readonly string[], actor: Actor): Promise<SigningKeySummary[]> {
    const staged = await this.deps.keys.rotate(algorithms);
    for (const key of staged) await this.record('key.staged', actor, { kid: key.kid, alg: key.alg });
    return staged;
  }

  /** Ends a key's stage early (KeyStore.retire says how, by state). */
  async retire(kid: string, actor: Actor): Promise<{ removed: boolean; activated: string | null }> {
    const result = await this.deps.keys.retire(kid);
    await this.record(result.removed ? 'key.removed' : 'key.retired', actor, { kid, ...(result.activated ? { activated: result.activated } : {}) });
    return result;
  }

  private async record(action: string, actor: Actor, details: Record<string, string>): Promise<void> {
    await this.deps.audit.record({
      action,
      outcome: 'success',
      accountId: actor.accountId,
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
      details: { ...details, ...actorDetails(actor) },
    });
  }
}
