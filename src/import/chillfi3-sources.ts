// Where a ChillFi3 users table is read from: the instance's own MySQL/MariaDB (a connection URL, or the DB_* variables
// of ChillFi3's .env), or a JSON export (an array of rows with ChillFi3's column names).
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import mysql from 'mysql2/promise';
import { BadRequest } from '../errors.js';
import type { ChillFi3Row } from './chillfi3-user.js';

/** The columns the import uses; ChillFi3's others (theme, created_at, last_login) stay on the instance. */
const USERS_QUERY = 'SELECT id, username, display_name, password, bio, profile_image_url, is_admin FROM users ORDER BY id';

/** How to reach ChillFi3's database: a mysql:// URL, or the options its .env names. */
export type MysqlConnection = string | mysql.ConnectionOptions;

/** The connection ChillFi3's .env describes (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME). */
export async function mysqlFromEnvFile(path: string): Promise<mysql.ConnectionOptions> {
  const env = parseEnv(await readFile(path, 'utf8'));
  if (!env.DB_NAME || !env.DB_USER) throw new BadRequest(`${path} must set DB_NAME and DB_USER (ChillFi3's database settings)`);
  return {
    host: env.DB_HOST || 'localhost',
    port: env.DB_PORT ? Number(env.DB_PORT) : 3306,
    user: env.DB_USER,
    password: env.DB_PASSWORD,
    database: env.DB_NAME,
  };
}

export async function readMysqlUsers(connection: MysqlConnection): Promise<ChillFi3Row[]> {
  const db = await mysql.createConnection(typeof connection === 'string' ? { uri: connection } : connection);
  try {
    const [rows] = await db.query<mysql.RowDataPacket[]>(USERS_QUERY);
    return rows;
  } finally {
    await db.end();
  }
}

export async function readJsonUsers(path: string): Promise<ChillFi3Row[]> {
  let rows: unknown;
  try {
    rows = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    if (cause instanceof SyntaxError) throw new BadRequest(`${path} is not JSON`, cause);
    throw cause;
  }
  if (!Array.isArray(rows)) throw new BadRequest(`${path} must hold an array of users rows`);
  // A row that is not an object is kept as an empty one: it is reported as a bad row like any other.
  return rows.map((row: unknown) => (typeof row === 'object' && row !== null && !Array.isArray(row) ? (row as ChillFi3Row) : {}));
}
