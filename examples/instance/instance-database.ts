// The example instance's own database, shaped like ChillFi3's: users with numeric ids (the columns of ChillFi3's
// users table) and items that belong to them by foreign key, as songs and playlists do. SQLite (better-sqlite3).
import Database from 'better-sqlite3';
import type { AuthUser, LocalUser, LocalUserStore } from '../../src/sdk/index.js';

export interface Item {
  id: number;
  user_id: number;
  title: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username VARCHAR(50) NOT NULL UNIQUE COLLATE NOCASE,
  display_name VARCHAR(100),
  password VARCHAR(255),
  bio TEXT,
  profile_image_url VARCHAR(255),
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_login TEXT,
  is_admin BOOLEAN NOT NULL DEFAULT 0,
  theme VARCHAR(50) DEFAULT 'dark'
);
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title TEXT NOT NULL
);`;

/** Every column of a user but the password. */
const USER_COLUMNS = 'id, username, display_name, bio, profile_image_url, created_at, last_login, is_admin, theme';

export class InstanceDatabase {
  private readonly db: Database.Database;

  /** `file` ':memory:' (the default) keeps everything in this process. */
  constructor(file = ':memory:') {
    this.db = new Database(file);
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  /** The users table for the SDK's resolveLocalUsers(). */
  readonly users: LocalUserStore = {
    findById: async (id) => this.user('id', id),
    findByUsername: async (username) => this.user('username', username),
    create: async (user: AuthUser) => {
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO users (username, display_name, is_admin) VALUES (?, ?, ?)')
        .run(user.username, user.display_name, user.is_admin ? 1 : 0);
      return this.user('id', Number(lastInsertRowid)) as LocalUser;
    },
    setAdmin: async (id, isAdmin) => {
      this.db.prepare('UPDATE users SET is_admin = ? WHERE id = ?').run(isAdmin ? 1 : 0, id);
    },
  };

  /** A row as ChillFi3 has it before the move (or as an import leaves it): for tests and demos. */
  addUser(user: { id?: number; username: string; display_name?: string; is_admin?: boolean }): LocalUser {
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO users (id, username, display_name, password, is_admin) VALUES (?, ?, ?, ?, ?)')
      .run(user.id ?? null, user.username, user.display_name ?? null, '$2b$10$hash.kept.by.chillfi3.before.the.move.xxxxxxxxxxxxxxx', user.is_admin ? 1 : 0);
    return this.user('id', Number(lastInsertRowid)) as LocalUser;
  }

  /** "My items": what the user owns, by their local id. */
  itemsOf(userId: number): Item[] {
    return this.db.prepare('SELECT id, user_id, title FROM items WHERE user_id = ? ORDER BY id').all(userId) as Item[];
  }

  addItem(userId: number, title: string): Item {
    const { lastInsertRowid } = this.db.prepare('INSERT INTO items (user_id, title) VALUES (?, ?)').run(userId, title);
    return { id: Number(lastInsertRowid), user_id: userId, title };
  }

  close(): void {
    this.db.close();
  }

  private user(column: 'id' | 'username', value: number | string): LocalUser | null {
    return (this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE ${column} = ?`).get(value) as LocalUser | undefined) ?? null;
  }
}
