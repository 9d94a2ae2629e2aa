// Who may use which instance: links of an account to an instance with a role and the account's local user id there,
// changed here for every way of asking, each change audited. Taking access away also ends what the account holds on
// that instance (back-channel logout, grants revoked), so it cannot go on using tokens it already has.
import type { AccountStore } from '../accounts/account-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { Conflict, NotFound } from '../errors.js';
import type { InstanceAccess, InstanceRole } from '../instances/instance-access-entity.js';
import type { AccessPage, InstanceStore } from '../instances/instance-store.js';
import type { AccountSessions } from '../provider/account-sessions.js';
import type { RevocationAnnouncer } from '../revocations/revocation-feed.js';
import { actorDetails, type Actor } from './account-operations.js';

export interface AccessOperationsDependencies {
  accounts: AccountStore;
  instances: InstanceStore;
  sessions: AccountSessions;
  audit: AuditLog;
  revocations: RevocationAnnouncer;
}

export class AccessOperations {
  constructor(private readonly deps: AccessOperationsDependencies) {}

  /** Gives the account access to the instance (or changes both role and local id of an existing link). */
  async grant(instanceId: string, accountId: string, role: InstanceRole, localUserId: number | null, actor: Actor): Promise<InstanceAccess> {
    await this.both(instanceId, accountId);
    await this.deps.instances.grantAccess(instanceId, accountId, role, localUserId);
    await this.record('access.granted', instanceId, accountId, actor, { role, local_user_id: localUserId });
    return (await this.deps.instances.accessOf(instanceId, accountId)) as InstanceAccess;
  }

  async change(
    instanceId: string,
    accountId: string,
    changes: { role?: InstanceRole; localUserId?: number | null },
    actor: Actor,
  ): Promise<InstanceAccess> {
    const access = await this.deps.instances.updateAccess(instanceId, accountId, changes);
    await this.record('access.changed', instanceId, accountId, actor, { role: access.role, local_user_id: access.localUserId });
    const { clientId } = await this.deps.instances.get(instanceId);
    await this.deps.revocations.announce([{ clientId, type: 'access.changed', details: { sub: accountId } }]);
    return access;
  }

  /**
   * Records the account's local id on the instance (the instance created its row at first sign-in). Refused when
   * another account of the instance holds that id: two accounts on one local row would share everything it owns.
   */
  async recordLocalId(instanceId: string, accountId: string, localUserId: number, actor: Actor): Promise<InstanceAccess> {
    const holder = await this.deps.instances.holderOfLocalId(instanceId, localUserId);
    if (holder && holder.accountId !== accountId) throw new Conflict(`local id ${localUserId} belongs to another account of this instance`);
    return this.change(instanceId, accountId, { localUserId }, actor);
  }

  /** Takes access away and ends the account's sign-in on that instance. */
  async revoke(instanceId: string, accountId: string, actor: Actor): Promise<void> {
    const instance = await this.deps.instances.get(instanceId);
    if (!(await this.deps.instances.revokeAccess(instanceId, accountId))) throw new NotFound('this account has no access to this instance');
    const ended = await this.deps.sessions.endForInstance(accountId, instance.clientId);
    await this.record('access.revoked', instanceId, accountId, actor, { ...ended });
    await this.deps.revocations.announce([{ clientId: instance.clientId, type: 'access.revoked', details: { sub: accountId } }]);
  }

  list(where: { instanceId: string } | { accountId: string }, page?: AccessPage): Promise<InstanceAccess[]> {
    return this.deps.instances.listAccess(where, page);
  }

  private async both(instanceId: string, accountId: string): Promise<void> {
    await Promise.all([this.deps.instances.get(instanceId), this.deps.accounts.get(accountId)]);
  }

  private async record(
    action: string,
    instanceId: string,
    accountId: string,
    actor: Actor,
    details: Record<string, string | number | null>,
  ): Promise<void> {
    await this.deps.audit.record({
      action,
      outcome: 'success',
      accountId,
      instanceId,
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
      details: { ...details, ...actorDetails(actor) },
    });
  }
}
