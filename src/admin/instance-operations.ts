// What can be done to an instance over its life, once, for every way of asking (the CLI and the admin API): each
// operation changes the instance, ends what must end with it, and writes the audit trail. Secrets are returned to be
// shown once and never written to the trail.
import { changedFields } from '../audit/audit-changes.js';
import type { AuditDetails } from '../audit/audit-event-entity.js';
import type { AuditLog } from '../audit/audit-log.js';
import { NotFound } from '../errors.js';
import type { Instance } from '../instances/instance-entity.js';
import {
  instanceSettings,
  type InstanceChanges,
  type InstanceStore,
  type InstanceWithSecret,
  type NewInstance,
  type RotatedSecret,
} from '../instances/instance-store.js';
import type { AccountSessions, EndedSessions } from '../provider/account-sessions.js';
import type { RevocationAnnouncer } from '../revocations/revocation-feed.js';
import { actorDetails, type Actor } from './account-operations.js';

export interface InstanceOperationsDependencies {
  instances: InstanceStore;
  sessions: AccountSessions;
  audit: AuditLog;
  /** CLIENT_SECRET_GRACE_SECONDS: how long a rotated-out secret keeps working. */
  graceSeconds: number;
  revocations: RevocationAnnouncer;
}

export class InstanceOperations {
  constructor(private readonly deps: InstanceOperationsDependencies) {}

  /**
   * Registers an instance; its secret (when it has one) is returned once. An instance registering itself comes with
   * the client id and secret the registration endpoint made, and the enrolment token it used for the trail.
   */
  async create(
    input: NewInstance,
    actor: Actor,
    enrolled?: { clientId: string; clientSecret: string | null; enrolmentTokenId: string },
  ): Promise<InstanceWithSecret> {
    const created = await this.deps.instances.create(input, enrolled);
    const how: AuditDetails = enrolled ? { enrolment_token: enrolled.enrolmentTokenId } : {};
    await this.record('instance.created', created.instance, actor, { name: created.instance.name, ...how });
    return created;
  }

  /**
   * Changes the given fields; the audit entry holds the ones that changed, each before and after (an instance's
   * settings are no secret: its client secret is not among them).
   */
  async update(id: string, changes: InstanceChanges, actor: Actor): Promise<{ instance: Instance; clientSecret: string | null }> {
    const before = instanceSettings(await this.deps.instances.get(id));
    const updated = await this.deps.instances.update(id, changes);
    const asked = (Object.keys(changes) as (keyof NewInstance)[]).filter((field) => changes[field] !== undefined);
    await this.record('instance.updated', updated.instance, actor, changedFields(before, instanceSettings(updated.instance), asked));
    return updated;
  }

  /** A new secret, shown once; the previous one works until CLIENT_SECRET_GRACE_SECONDS from now. */
  async rotateSecret(id: string, actor: Actor): Promise<RotatedSecret> {
    const rotated = await this.deps.instances.rotateSecret(id, this.deps.graceSeconds);
    await this.record('instance.secret_rotated', rotated.instance, actor, {
      previous_secret_expires_at: rotated.previousSecretExpiresAt?.toISOString() ?? null,
    });
    await this.deps.revocations.announce([{ clientId: rotated.instance.clientId, type: 'secret.rotated' }]);
    return rotated;
  }

  /**
   * Deletes the instance. First every account linked to it is signed out of it (back-channel logout while the instance
   * still exists to be told) and its grants are revoked with their codes, refresh tokens and access tokens' shadow
   * records, so introspection and the user API refuse them at once; an instance links every account that signs in
   * to it, so these are all its users. Then the row goes, with its access links: its own client_credentials tokens,
   * which have no grant, die with it, since nothing accepts a token of an instance that does not exist.
   */
  async delete(id: string, actor: Actor): Promise<EndedSessions> {
    const { sessions } = this.deps;
    const instance = await this.deps.instances.get(id);
    const links = await this.deps.instances.listAccess({ instanceId: id });
    const ended = await Promise.all(links.map(({ accountId }) => sessions.endForInstance(accountId, instance.clientId)));
    if (!(await this.deps.instances.delete(id))) throw new NotFound(`instance ${id} not found`);
    const total = ended.reduce((sum, each) => ({ sessions: sum.sessions + each.sessions, grants: sum.grants + each.grants }), { sessions: 0, grants: 0 });
    await this.record('instance.deleted', instance, actor, { name: instance.name, client_id: instance.clientId, ...total });
    return total;
  }

  private async record(action: string, instance: Instance, actor: Actor, details: AuditDetails): Promise<void> {
    await this.deps.audit.record({
      action,
      outcome: 'success',
      instanceId: instance.id,
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
      details: { ...details, ...actorDetails(actor) },
    });
  }
}
