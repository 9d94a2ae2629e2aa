import type { MigrationInterface, QueryRunner } from 'typeorm';
import { USERNAME_MAX_LENGTH, usernameKey } from '../src/accounts/username.js';

interface StoredName {
  id: string;
  username: string;
  username_key: string;
}

/** Never in a key (no username holds a control character): marks a key being moved, so no move meets another. */
const MOVING = '\u0001';

/** A username as ASCII, every other character as its code point: two look-alikes read differently in a log. */
function spelled(username: string): string {
  return JSON.stringify(username).replace(/[^\x20-\x7e]/gu, (char) => `\\u{${(char.codePointAt(0) as number).toString(16)}}`);
}

/**
 * Usernames are unique by their key (src/accounts/username.ts: NFKC, lower case), no longer by lower case alone: every
 * account's `username_key` is computed again, under the same unique index. Accounts that now share a key (full-width
 * ａlice beside alice, émile composed and decomposed) stop it, with nothing changed: which of them is the genuine one is
 * the operator's call (one may be an impostor's), and keeping both would leave the look-alikes this closes. The error
 * names each group; docs/operations.md, "Look-alike usernames", says how to rename or delete one and migrate again.
 */
export class UsernameKeys1764800000000 implements MigrationInterface {
  name = 'UsernameKeys1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const rows = await this.read(queryRunner);
    const byKey = new Map<string, StoredName[]>();
    for (const row of rows) byKey.set(usernameKey(row.username), [...(byKey.get(usernameKey(row.username)) ?? []), row]);
    const clashes = [...byKey.values()].filter((group) => group.length > 1);
    const tooLong = rows.filter((row) => [...usernameKey(row.username)].length > USERNAME_MAX_LENGTH);
    if (clashes.length > 0 || tooLong.length > 0) {
      const named = (row: StoredName) => `${spelled(row.username)} (id ${row.id})`;
      throw new Error(
        [
          'usernames must be unique once case and look-alike forms are set aside (NFKC), and these are not: keep one of ' +
            'each group, rename or delete the others, then migrate again (docs/operations.md, "Look-alike usernames")',
          ...clashes.map((group) => `  the same: ${group.map(named).join(', ')}`),
          ...tooLong.map((row) => `  longer than ${USERNAME_MAX_LENGTH} characters once written out: ${named(row)}`),
        ].join('\n'),
      );
    }
    await this.rekey(queryRunner, rows, usernameKey);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.rekey(queryRunner, await this.read(queryRunner), (username) => username.toLowerCase());
  }

  // Plain SQL rather than the query builder: given the table's name, it would take the entity of today's code and
  // its property names, and a migration must not depend on them.
  private read(queryRunner: QueryRunner): Promise<StoredName[]> {
    return queryRunner.query('SELECT id, username, username_key FROM accounts') as Promise<StoredName[]>;
  }

  /**
   * Gives each account the key `keyOf` makes of its username. A new key may be one another account holds until its own
   * turn (unique all along, but not in every order): the keys that change move aside first, then to their places.
   */
  private async rekey(queryRunner: QueryRunner, rows: StoredName[], keyOf: (username: string) => string): Promise<void> {
    const moves = rows.flatMap((row) => (keyOf(row.username) === row.username_key ? [] : [{ id: row.id, key: keyOf(row.username) }]));
    const setKey = (id: string, key: string) =>
      queryRunner.query(...queryRunner.connection.driver.escapeQueryWithParameters('UPDATE accounts SET username_key = :key WHERE id = :id', { key, id }));
    for (const move of moves) await setKey(move.id, `${MOVING}${move.id}`);
    for (const move of moves) await setKey(move.id, move.key);
  }
}
