// The position of a page of a list ordered by one unique text key (accounts by username key, access links by the other
// side's id): opaque to callers, the key of the last row a page returned. The next page is the rows after it.
import { BadRequest } from '../errors.js';

export function encodeKeyCursor(key: string): string {
  return Buffer.from(JSON.stringify([key])).toString('base64url');
}

/** The key a cursor holds; BadRequest for a cursor no page handed out. */
export function decodeKeyCursor(cursor: string): string {
  try {
    const [key] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof key === 'string' && key.length <= 255) return key;
  } catch {
    // not JSON: refused below like any other cursor this server did not make
  }
  throw new BadRequest('the cursor is not one a page of this list returned');
}

/** One page and where the next starts: `found` holds up to limit + 1 rows (one more says there is a next page). */
export function keyPage<T>(found: T[], limit: number, keyOf: (row: T) => string): { rows: T[]; nextCursor: string | null } {
  const rows = found.slice(0, limit);
  const last = rows.at(-1);
  return { rows, nextCursor: found.length > limit && last !== undefined ? encodeKeyCursor(keyOf(last)) : null };
}
