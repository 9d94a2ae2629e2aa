// One row of a ChillFi3 instance's `users` table, checked and turned into what the auth server keeps of it. Pure: the
// same check for a row read from MySQL and for one from a JSON export, so --dry-run and the import agree.
import { PROFILE_LIMITS } from '../accounts/account-store.js';
import { checkImportedUsername, newUsernameProblem, USERNAME_RULE } from '../accounts/username.js';
import { isStorable } from '../db/storable.js';
import { AppError } from '../errors.js';
import type { InstanceRole } from '../instances/instance-access-entity.js';

/** A row as ChillFi3 stores it (column names kept); from a JSON export any field may be of any type. */
export type ChillFi3Row = Record<string, unknown>;

/** What an imported row becomes: an account's fields and its access link to the instance. */
export interface ChillFi3User {
  /** ChillFi3's users.id: the local id on that instance. */
  localId: number;
  username: string;
  displayName: string | null;
  bio: string | null;
  picture: string | null;
  /** The bcrypt hash as ChillFi3 stored it; null: the account must set a password before it can sign in. */
  passwordHash: string | null;
  role: InstanceRole;
}

/** A row that cannot be imported, and why. */
export interface BadRow {
  /** The row's id as it came (it may be missing or not a number: that can be why the row is bad). */
  id: unknown;
  reason: string;
}

export type CheckedRow = { user: ChillFi3User; notes: string[] } | { bad: BadRow };

/** A whole bcrypt hash: version 2a/2b/2y, two-digit cost, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const MAX_LOCAL_ID = 2_147_483_647;

/** ChillFi3's is_admin is a TINYINT: mysql2 gives 1/0, exports may hold "1" or true. */
function isTruthyAdmin(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

function localIdOf(value: unknown): number | null {
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= MAX_LOCAL_ID ? id : null;
}

/** A text field or null; a field the auth server cannot keep is dropped with a note, never the whole row. */
function optionalText(value: unknown, field: string, limit: number, notes: string[]): string | null {
  if (value === null || value === undefined || (typeof value === 'string' && value.trim() === '')) return null;
  if (typeof value !== 'string' || value.length > limit || !isStorable(value)) {
    notes.push(`${field} dropped: not text of at most ${limit} characters`);
    return null;
  }
  return value;
}

/**
 * ChillFi3 may keep a picture as a path on the instance ("/uploads/..."): with `pictureBase` it is made absolute,
 * since the auth server only keeps http(s) addresses that every instance's pages can show.
 */
function pictureOf(value: unknown, pictureBase: string | undefined, notes: string[]): string | null {
  const text = optionalText(value, 'profile_image_url', PROFILE_LIMITS.picture, notes);
  if (text === null) return null;
  const url = URL.parse(text, pictureBase);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.href.length > PROFILE_LIMITS.picture) {
    notes.push(`profile_image_url dropped: not an http(s) address${pictureBase ? '' : ' (a path needs --picture-base)'}`);
    return null;
  }
  return url.href;
}

export function checkRow(row: ChillFi3Row, { pictureBase }: { pictureBase?: string } = {}): CheckedRow {
  const localId = localIdOf(row.id);
  if (localId === null) return { bad: { id: row.id ?? null, reason: `id is not a whole number from 1 to ${MAX_LOCAL_ID}` } };
  if (typeof row.username !== 'string') return { bad: { id: localId, reason: 'username is missing' } };
  try {
    checkImportedUsername(row.username);
  } catch (error) {
    return { bad: { id: localId, reason: error instanceof AppError ? error.message : String(error) } };
  }
  const password = row.password ?? null;
  if (password !== null && (typeof password !== 'string' || !BCRYPT_HASH.test(password))) {
    return { bad: { id: localId, reason: 'password is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)' } };
  }
  const notes: string[] = [];
  // Kept as it is, so the instance's tokens and its own table agree; only new names must keep to the rule.
  if (newUsernameProblem(row.username) !== null) notes.push(`username kept as it is, though new usernames must be ${USERNAME_RULE}`);
  return {
    user: {
      localId,
      username: row.username,
      displayName: optionalText(row.display_name, 'display_name', PROFILE_LIMITS.displayName, notes)?.trim() ?? null,
      bio: optionalText(row.bio, 'bio', PROFILE_LIMITS.bio, notes),
      picture: pictureOf(row.profile_image_url, pictureBase, notes),
      passwordHash: password,
      role: isTruthyAdmin(row.is_admin) ? 'admin' : 'member',
    },
    notes,
  };
}
