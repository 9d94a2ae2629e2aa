// A ChillFi3 users table on the real MariaDB the tests use (CI starts it): a scratch database per test, with
// ChillFi3's schema (../shared/chillfi3.md), filled with as many users as a test asks for.
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import mysql from 'mysql2/promise';

/** The server: root without a password, as .ci/run leaves it. */
export const MARIADB_URL = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

const USERS_TABLE = `CREATE TABLE users (
  id INT AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(50) UNIQUE NOT NULL,
  display_name VARCHAR(100),
  password VARCHAR(255) NULL,
  bio TEXT,
  profile_image_url VARCHAR(255),
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  last_login TIMESTAMP NULL,
  is_admin BOOLEAN DEFAULT FALSE,
  theme VARCHAR(50) DEFAULT 'dark'
)`;

/** A users row as a test writes it (ChillFi3's column names). */
export interface UserRow {
  id: number;
  username: string;
  display_name?: string | null;
  password: string | null;
  bio?: string | null;
  profile_image_url?: string | null;
  is_admin?: boolean | number;
}

export interface ChillFi3Database {
  /** mysql://root@127.0.0.1:3306/<scratch name> */
  url: string;
  name: string;
  insert(rows: readonly UserRow[]): Promise<void>;
  /** Runs a statement on the table's database (as ChillFi3 would change it, or as an operator exports it); its rows. */
  query(sql: string): Promise<unknown[]>;
  drop(): Promise<void>;
}

export async function scratchChillFi3(): Promise<ChillFi3Database> {
  const name = `chillfi3_import_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MARIADB_URL });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query(`USE ${name}`);
  await admin.query(USERS_TABLE);
  const url = new URL(MARIADB_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async insert(rows) {
      // Batches keep each statement well under max_allowed_packet.
      for (let start = 0; start < rows.length; start += 1000) {
        const values = rows
          .slice(start, start + 1000)
          .map((row) => [row.id, row.username, row.display_name ?? null, row.password, row.bio ?? null, row.profile_image_url ?? null, row.is_admin ?? false]);
        await admin.query('INSERT INTO users (id, username, display_name, password, bio, profile_image_url, is_admin) VALUES ?', [values]);
      }
    },
    async query(sql) {
      const [rows] = await admin.query(sql);
      return Array.isArray(rows) ? rows : [];
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

const hashes = new Map<string, string>();

/** A bcrypt hash of the password, as ChillFi3 stores one, made once per password (at the lowest cost: tests are fast). */
export function bcryptOf(password: string): string {
  let hash = hashes.get(password);
  if (hash === undefined) {
    hash = bcrypt.hashSync(password, 4);
    hashes.set(password, hash);
  }
  return hash;
}

/** `count` ordinary users named `<prefix><n>`, ids from `firstId`, every one with the same password. */
export function manyUsers(count: number, { prefix, firstId = 1, password }: { prefix: string; firstId?: number; password: string }): UserRow[] {
  const hash = bcryptOf(password);
  return Array.from({ length: count }, (_, index) => ({
    id: firstId + index,
    username: `${prefix}${firstId + index}`,
    display_name: `User ${firstId + index}`,
    password: hash,
    bio: index % 3 === 0 ? `Listens to track ${index}` : null,
    is_admin: index % 50 === 0,
  }));
}
