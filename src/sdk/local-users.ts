// The instance's own user rows behind req.user / socket.user: ChillFi3's tables hold users.id as foreign keys, so
// every signed-in user needs a local row and its numeric id. resolveLocalUsers(store) is a resolveUser hook that finds
// the row by the token's local id claim, else by username, else creates it at first sign-in and records its id back
// at the auth server (so the user's next tokens carry it), and keeps the row's admin flag equal to the instance role.
import type { AuthClient } from './auth-client.js';
import type { AuthUser } from './auth-user.js';
import { AuthError } from './errors.js';

/** A local user row, as the store reads it (without its password). */
export interface LocalUser {
  id: number;
  username: string;
  is_admin: unknown;
  [column: string]: unknown;
}

/** The instance's users table. */
export interface LocalUserStore {
  findById(id: number): Promise<LocalUser | null>;
  /** Usernames compare as the auth server compares them: case-insensitively. */
  findByUsername(username: string): Promise<LocalUser | null>;
  /** Creates the row of a user signing in for the first time (no password: the auth server checks it) and returns it. */
  create(user: AuthUser): Promise<LocalUser>;
  setAdmin(id: number, isAdmin: boolean): Promise<void>;
}

/** Maps a verified token's user to the user the app sees. Runs in validateToken(), so in every middleware. */
export type ResolveUser = (user: AuthUser, auth: AuthClient) => Promise<AuthUser>;

/** A recorded local id is remembered this long, so that the tokens issued before it do not record it again. */
const RECORDED_TTL_MS = 60 * 60 * 1000;
/** After a failed recording, the next try waits this long: requests must not each wait for an absent auth server. */
const RETRY_AFTER_MS = 60 * 1000;

function conflict(row: LocalUser): AuthError {
  return new AuthError('local_user_conflict', `local user ${row.id} belongs to another account at the auth server`);
}

export function resolveLocalUsers(store: LocalUserStore): ResolveUser {
  /** Concurrent requests of one user share one lookup: a first sign-in creates one row, a refused row is refused to all. */
  const pending = new Map<string, Promise<LocalUser>>();

  async function findOrCreate(user: AuthUser): Promise<LocalUser> {
    const byId = user.id === null ? null : await store.findById(user.id);
    if (byId) return byId;
    // A legacy token's userId is the local id itself: no row, no user.
    if (user.source === 'legacy') throw new AuthError('invalid_token', `no local user ${user.id} for this legacy token`);
    const byName = await store.findByUsername(user.username);
    if (byName) return byName;
    try {
      return await store.create(user);
    } catch (error) {
      // Another node created it first (the username is unique).
      const created = await store.findByUsername(user.username);
      if (created) return created;
      throw error;
    }
  }

  /**
   * Records the row's id at the auth server, once: a marker in the client's store (shared by the instance's nodes)
   * says it is done, failed a moment ago (tried again after RETRY_AFTER_MS), or was refused as another account's.
   */
  async function recordLocalId(user: AuthUser, row: LocalUser, auth: AuthClient): Promise<void> {
    const marker = `local-id:${user.sub}:${row.id}`;
    if (!(await auth.store.add(marker, 'recorded', RECORDED_TTL_MS))) {
      if ((await auth.store.get(marker)) === 'conflict') throw conflict(row);
      return;
    }
    try {
      await auth.recordLocalUserId(user.sub, row.id);
    } catch (error) {
      const refused = error instanceof AuthError && error.code === 'local_user_conflict';
      await auth.store.set(marker, refused ? 'conflict' : 'retry', RETRY_AFTER_MS);
      if (refused) throw error;
      // The username finds the row meanwhile: the sign-in goes on.
      auth.options.logger.warn('the local user id could not be recorded at the auth server', { sub: user.sub, id: row.id, error: (error as Error).message });
    }
  }

  async function localRow(user: AuthUser, auth: AuthClient): Promise<LocalUser> {
    const row = await findOrCreate(user);
    if (user.source === 'auth-server' && user.id !== row.id) await recordLocalId(user, row, auth);
    return row;
  }

  return async function resolveLocalUser(user: AuthUser, auth: AuthClient): Promise<AuthUser> {
    let lookup = pending.get(user.sub);
    if (!lookup) {
      lookup = localRow(user, auth).finally(() => pending.delete(user.sub));
      pending.set(user.sub, lookup);
    }
    const row = await lookup;
    // The instance role at the auth server is the truth; the row follows it so the app's own admin checks agree.
    if (user.source === 'auth-server' && Boolean(Number(row.is_admin)) !== user.is_admin) await store.setAdmin(row.id, user.is_admin);
    const { password: _password, ...columns } = row;
    return { ...user, ...columns, id: row.id, is_admin: user.is_admin, role: user.role, sid: user.sid, sub: user.sub, source: user.source };
  };
}
