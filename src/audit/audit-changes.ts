// What an update changed, as the audit trail keeps it: the fields whose value differs, each before and after, in the
// trail's flat details (`fields`, `<field>.before`, `<field>.after`), so that an entry reads "email: a → b" and a
// field sent again unchanged is not reported as changed.
import type { AuditDetails } from './audit-event-entity.js';

/** A stored value longer than this is cut (a bio, a JWK set): the trail says what changed, it is no copy of the data. */
const MAX_VALUE_LENGTH = 200;

type AuditValue = string | number | boolean | null;

/** A field's value as one flat detail: lists joined by spaces (URIs, grants, scopes, CIDRs hold none), objects as JSON. */
function auditValue(value: unknown): AuditValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return Array.isArray(value) ? value.join(' ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function shortened(value: AuditValue): AuditValue {
  return typeof value === 'string' && value.length > MAX_VALUE_LENGTH ? `${value.slice(0, MAX_VALUE_LENGTH)}…` : value;
}

/** The fields of `names` that differ from `before` to `after`: `fields` lists them (empty: nothing changed). */
export function changedFields<T extends object>(before: T, after: T, names: readonly (keyof T & string)[]): AuditDetails {
  const details: AuditDetails = {};
  const changed: string[] = [];
  for (const name of [...names].sort()) {
    const [was, is] = [auditValue(before[name]), auditValue(after[name])];
    if (was === is) continue;
    changed.push(name);
    details[`${name}.before`] = shortened(was);
    details[`${name}.after`] = shortened(is);
  }
  return { fields: changed.join(' '), ...details };
}
