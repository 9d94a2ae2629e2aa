// The position of an audit page: opaque to callers, (at, id) of the last entry a page returned. Entries are ordered
// newest first by (at, id); ids are UUIDv7, so two entries of the same millisecond still have one order.
import { BadRequest } from '../errors.js';

export interface AuditPosition {
  at: Date;
  id: string;
}

export function encodeCursor({ at, id }: AuditPosition): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

export function decodeCursor(cursor: string): AuditPosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    const date = typeof at === 'string' ? new Date(at) : new Date(NaN);
    if (typeof id === 'string' && id.length <= 36 && !Number.isNaN(date.getTime())) return { at: date, id };
  } catch {
    // not JSON: refused below like any other cursor this server did not make
  }
  throw new BadRequest('the cursor is not one a page of the audit trail returned');
}
