// An audit entry as a person reads it, in the console and on the command line alike: who acted (by username, or the
// operating-system user for the command line), the accounts and instances named, and the details, with an update's
// before → after pairs as one fact each.
import type { AccountStore } from '../accounts/account-store.js';
import type { Instance } from '../instances/instance-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { AuditEvent } from './audit-event-entity.js';

/** The `via` of a change someone asked for (a `grant.revoked` has a `via` of its own: how the grant ended). */
const ASKED_VIA: Record<string, string> = { cli: 'command line', api: 'API', web: 'console' };

/** The names a page of entries needs, each looked up once for the whole page. */
export interface AuditNames {
  usernames: Map<string, string>;
  instances: Map<string, Instance>;
}

/** Who asked for a change: an account (null for a shell or an instance), how, and for a shell who ran it. */
export interface ActedBy {
  accountId: string | null;
  /** Null when there is no account, or when it was deleted since. */
  username: string | null;
  via: string;
  osUser: string | null;
}

/** The account ids an entry names: the one it is about, and the one who acted. */
function accountIdsOf(event: AuditEvent): string[] {
  const by = event.details?.by;
  return [event.accountId, typeof by === 'string' ? by : null].filter((id): id is string => id !== null);
}

/** The usernames and instances the entries name, in one query each. */
export async function auditNames(accounts: AccountStore, instances: InstanceStore, events: readonly AuditEvent[]): Promise<AuditNames> {
  const accountIds = [...new Set(events.flatMap(accountIdsOf))];
  const instanceIds = [...new Set(events.map((event) => event.instanceId).filter((id): id is string => id !== null))];
  const [named, registered] = await Promise.all([accounts.findMany(accountIds), instances.findMany(instanceIds)]);
  return {
    usernames: new Map(named.map((account) => [account.id, account.username])),
    instances: new Map(registered.map((instance) => [instance.id, instance])),
  };
}

/** Who asked for the change the entry records; null for what an account did itself (signing in, a token). */
export function actedBy(event: AuditEvent, names: AuditNames): ActedBy | null {
  const via = event.details?.via;
  if (typeof via !== 'string' || !(via in ASKED_VIA)) return null;
  // Key entries written before `by` was added hold the actor as their account.
  const by = event.details && 'by' in event.details ? event.details.by : event.accountId;
  const accountId = typeof by === 'string' ? by : null;
  const osUser = event.details?.os_user;
  return { accountId, username: accountId ? (names.usernames.get(accountId) ?? null) : null, via: ASKED_VIA[via] as string, osUser: typeof osUser === 'string' ? osUser : null };
}

/** An account as the trail names it: its username, or its id marked "(deleted)" when it is gone. */
export function accountName(accountId: string, names: AuditNames): string {
  return names.usernames.get(accountId) ?? `${accountId} (deleted)`;
}

/** Who acted by name: their username (their id if deleted), the OS user for a shell, "an instance" for the user API. */
export function actorName(who: ActedBy, names: AuditNames): string {
  if (who.accountId) return accountName(who.accountId, names);
  return who.osUser ?? (who.via === ASKED_VIA.api ? 'an instance' : 'someone');
}

/** "root (console)", "alice (command line)", "an instance (API)". */
export function actedByText(who: ActedBy, names: AuditNames): string {
  return `${actorName(who, names)} (${who.via})`;
}

function shown(value: unknown): string {
  return value === null ? 'none' : typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * The entry's details as facts, who acted left out: `key=value`, and for an update each changed field as
 * `field: before → after` (src/audit/audit-changes.ts), or "nothing changed".
 */
export function detailFacts(event: AuditEvent): string[] {
  const details = event.details ?? {};
  const keys = Object.keys(details);
  const paired = keys.some((key) => key.endsWith('.before'));
  const facts: string[] = [];
  for (const key of keys) {
    const saysWhoActed = key === 'by' || key === 'os_user' || (key === 'via' && String(details.via) in ASKED_VIA);
    if (saysWhoActed || key.endsWith('.after')) continue;
    if (key.endsWith('.before')) {
      const field = key.slice(0, -'.before'.length);
      facts.push(`${field}: ${shown(details[key])} → ${shown(details[`${field}.after`] ?? null)}`);
    } else if (key === 'fields' && (paired || details.fields === '')) {
      if (details.fields === '') facts.push('nothing changed');
    } else {
      facts.push(`${key}=${String(details[key])}`);
    }
  }
  return facts;
}
