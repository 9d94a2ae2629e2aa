// The admin-confirmed mapping file (--map): which ChillFi3 users are people the auth server already knows, and which
// share a username with someone else and must be imported under another name. Keys name a row of the table being
// imported (its id, or its username in any case); values name an existing account (its id or username) to link the
// row to, or { "create": "<new username>" } to import the row as a new account under that name.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { usernameKey } from '../accounts/username.js';
import { BadRequest } from '../errors.js';

export type MappingTarget = { account: string } | { create: string };

export interface ImportMapping {
  /** What the file says about this row, by its id first, then by its username. */
  targetOf(localId: number, username: string): MappingTarget | undefined;
}

const MAPPING_FILE = z.record(z.string(), z.union([z.string().min(1), z.strictObject({ create: z.string() })]));

export const NO_MAPPING: ImportMapping = { targetOf: () => undefined };

export function parseMapping(document: unknown): ImportMapping {
  const parsed = MAPPING_FILE.safeParse(document);
  if (!parsed.success) {
    throw new BadRequest('the mapping file must be one JSON object of {"<id or username>": "<account id or username>" | {"create": "<username>"}}');
  }
  const entries = new Map<string, MappingTarget>();
  for (const [key, value] of Object.entries(parsed.data)) {
    // Ids stay as written ("17"); usernames are matched by their keys (any case, look-alike forms), as accounts are.
    const name = /^\d+$/.test(key) ? key : usernameKey(key);
    if (entries.has(name)) throw new BadRequest(`the mapping file names "${key}" twice`);
    entries.set(name, typeof value === 'string' ? { account: value } : value);
  }
  return { targetOf: (localId, username) => entries.get(String(localId)) ?? entries.get(usernameKey(username)) };
}

export async function readMapping(path: string): Promise<ImportMapping> {
  const text = await readFile(path, 'utf8');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new BadRequest(`the mapping file ${path} is not JSON`, cause);
  }
  return parseMapping(document);
}
