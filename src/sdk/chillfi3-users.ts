// ChillFi3's own users table (MySQL or MariaDB, through the mysql2 pool the ChillFi3 server already has) as a
// LocalUserStore: resolveUser: resolveLocalUsers(chillfi3Users(pool)). The SDK does not load mysql2 itself: the pool
// is the app's. The password column is never read; rows made here have none (the auth server checks passwords).
import type { AuthUser } from './auth-user.js';
import type { LocalUser, LocalUserStore } from './local-users.js';

/** The part of a mysql2/promise pool (or connection) the store uses. */
export interface MysqlPoolLike {
  execute(sql: string, values: (string | number | boolean | null)[]): Promise<[unknown, unknown]>;
}

/** Every column ChillFi3 reads of a user, its password aside. */
const COLUMNS = 'id, username, display_name, bio, profile_image_url, created_at, last_login, is_admin, theme';

export function chillfi3Users(pool: MysqlPoolLike): LocalUserStore {
  async function one(where: 'id' | 'username', value: number | string): Promise<LocalUser | null> {
    const [rows] = await pool.execute(`SELECT ${COLUMNS} FROM users WHERE ${where} = ? LIMIT 1`, [value]);
    const row = (rows as LocalUser[])[0];
    return row ? { ...row, is_admin: Boolean(row.is_admin) } : null;
  }

  return {
    findById: (id) => one('id', id),
    // ChillFi3's username column has the table's default collation, case-insensitive like usernames at the auth server.
    findByUsername: (username) => one('username', username),
    async create(user: AuthUser) {
      const [result] = await pool.execute(
        `INSERT INTO users (username, display_name, password, is_admin, created_at) VALUES (?, ?, NULL, ?, CURRENT_TIMESTAMP)`,
        [user.username, user.display_name, user.is_admin],
      );
      const created = await one('id', (result as { insertId: number }).insertId);
      if (!created) throw new Error(`the new row of ${user.username} cannot be read back`);
      return created;
    },
    async setAdmin(id, isAdmin) {
      await pool.execute(`UPDATE users SET is_admin = ? WHERE id = ?`, [isAdmin, id]);
    },
  };
}
