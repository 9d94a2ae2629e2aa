// What importing a ChillFi3 users table into one instance would do, decided without touching anything: --dry-run
// prints this plan, an import carries it out (apply-import.ts). The rules, in order, for each row:
//  1. a row that fails its checks, or repeats an id or a username of the table, is a bad row;
//  2. a row already imported (this instance, this local id) is skipped, or its role updated;
//  3. a row the mapping file names is linked to the account it names (which takes the row's password if it has none),
//     or created under the username it gives;
//  4. a row whose username no account has yet becomes a new account;
//  5. a row whose username an account has already (by the username's key: any case, look-alike forms) is the same
//     person only with --match username and the very same bcrypt hash string on both sides (an account keeps an
//     imported bcrypt hash as it came until its first sign-in makes it argon2id), on an account that is no server admin
//     and has no set-password link pending. Anything else is a clash: reported, never merged. A missing password shows
//     nothing (whoever holds the username on the other server would take over the account here, or the account would
//     be tied to a row nobody can sign in as); two different hashes cannot be compared without the password; an admin,
//     or an account whose owner is about to choose a password, is linked only by the mapping file.
import { checkNewUsername, usernameKey } from '../accounts/username.js';
import type { AppError } from '../errors.js';
import type { InstanceRole } from '../instances/instance-access-entity.js';
import { checkRow, type BadRow, type ChillFi3Row, type ChillFi3User } from './chillfi3-user.js';
import type { ImportMapping } from './import-mapping.js';

/** An account as the plan needs to know it. */
export interface KnownAccount {
  id: string;
  username: string;
  passwordHash: string | null;
  /** A server admin: linked only by the mapping file. */
  isAdmin: boolean;
  /** Has a live, unused set-password link: linked only by the mapping file. */
  passwordLinkPending: boolean;
}

/** An existing access link of the instance being imported into. */
export interface KnownLink {
  accountId: string;
  role: InstanceRole;
  localUserId: number | null;
}

export interface ImportState {
  accounts: KnownAccount[];
  links: KnownLink[];
}

export interface ImportOptions {
  /** `username`: an account of the same username and the same password hash is the same person (rule 5). */
  match?: 'username';
  mapping: ImportMapping;
  pictureBase?: string;
}

/** Why a row is linked to an existing account rather than created. */
export type LinkReason = 'mapping' | 'same password hash';

export type ImportStep =
  | { kind: 'create'; user: ChillFi3User; notes: string[] }
  | { kind: 'link'; user: ChillFi3User; account: KnownAccount; reason: LinkReason; setPassword: boolean; notes: string[] }
  | { kind: 'update'; user: ChillFi3User; account: KnownAccount; previousRole: InstanceRole }
  | { kind: 'skip'; user: ChillFi3User; account: KnownAccount }
  | { kind: 'clash'; user: ChillFi3User; account: KnownAccount | null; reason: string }
  | { kind: 'bad'; bad: BadRow };

export type StepKind = ImportStep['kind'];

/** Decides, row by row and in the table's order, what the import does (see the rules above). */
export function planImport(rows: readonly ChillFi3Row[], state: ImportState, options: ImportOptions): ImportStep[] {
  const accountById = new Map(state.accounts.map((account) => [account.id, account]));
  const accountByName = new Map(state.accounts.map((account) => [usernameKey(account.username), account]));
  const linkByLocalId = new Map(state.links.flatMap((link) => (link.localUserId === null ? [] : [[link.localUserId, link] as const])));
  const linkByAccount = new Map(state.links.map((link) => [link.accountId, link]));
  const seenIds = new Set<number>();
  const seenNames = new Set<string>();
  /** Accounts this table already has a row for: a second row cannot take them too. */
  const claimed = new Set<string>();

  function stepFor(user: ChillFi3User, notes: string[]): ImportStep {
    const known = linkByLocalId.get(user.localId);
    const knownAccount = known && accountById.get(known.accountId);
    if (known && knownAccount) {
      claimed.add(knownAccount.id);
      seenNames.add(usernameKey(user.username));
      return known.role === user.role
        ? { kind: 'skip', user, account: knownAccount }
        : { kind: 'update', user, account: knownAccount, previousRole: known.role };
    }
    const target = options.mapping.targetOf(user.localId, user.username);
    if (target && 'account' in target) {
      const account = accountById.get(target.account) ?? accountByName.get(usernameKey(target.account));
      if (!account) return { kind: 'bad', bad: { id: user.localId, reason: `the mapping file names no existing account "${target.account}"` } };
      return linkTo(user, account, 'mapping', notes);
    }
    let wanted = user;
    if (target) {
      // A name the admin chooses here is a new one: under the rules for new usernames.
      try {
        wanted = { ...user, username: checkNewUsername(target.create) };
      } catch (error) {
        return { kind: 'bad', bad: { id: user.localId, reason: `the mapping file's username: ${(error as AppError).message}` } };
      }
    }
    const name = usernameKey(wanted.username);
    if (seenNames.has(name)) return { kind: 'bad', bad: { id: user.localId, reason: `username "${wanted.username}" is repeated in the table` } };
    seenNames.add(name);
    const sameName = accountByName.get(name);
    if (!sameName) return { kind: 'create', user: wanted, notes };
    if (options.match !== 'username' || target) {
      const reason = `account "${sameName.username}" exists: link to it with --match username or a mapping file, or import under another username with a mapping file`;
      return { kind: 'clash', user: wanted, account: sameName, reason };
    }
    const unmatched = unmatchedBecause(sameName, wanted);
    if (unmatched) return { kind: 'clash', user: wanted, account: sameName, reason: `${unmatched}: confirm in a mapping file` };
    return linkTo(wanted, sameName, 'same password hash', notes);
  }

  function linkTo(user: ChillFi3User, account: KnownAccount, reason: LinkReason, notes: string[]): ImportStep {
    const taken = linkByAccount.get(account.id);
    if (taken || claimed.has(account.id)) {
      const where = taken?.localUserId ? ` (local id ${taken.localUserId})` : '';
      return { kind: 'clash', user, account, reason: `account "${account.username}" is already linked to this instance${where}` };
    }
    claimed.add(account.id);
    // Only a mapped account can be without a password here (rule 5): the admin said the row's person owns it, so it
    // takes the row's password, else its owner could never sign in. One with a password keeps it.
    const setPassword = account.passwordHash === null && user.passwordHash !== null;
    return { kind: 'link', user, account, reason, setPassword, notes };
  }

  return rows.map((row): ImportStep => {
    const checked = checkRow(row, { pictureBase: options.pictureBase });
    if ('bad' in checked) return { kind: 'bad', bad: checked.bad };
    const { user, notes } = checked;
    if (seenIds.has(user.localId)) return { kind: 'bad', bad: { id: user.localId, reason: 'id is repeated in the table' } };
    seenIds.add(user.localId);
    return stepFor(user, notes);
  });
}

/** Rule 5: why --match username does not take the account of the row's username as the row's person; null: it does. */
function unmatchedBecause(account: KnownAccount, user: ChillFi3User): string | null {
  const named = `account "${account.username}"`;
  if (account.isAdmin) return `${named} is a server admin`;
  if (account.passwordLinkPending) return `${named} has a set-password link pending`;
  if (account.passwordHash === null) return `${named} has no password, so nothing shows the row's user owns it`;
  if (user.passwordHash === null) return `the row has no password, so nothing shows its user owns ${named}`;
  return account.passwordHash === user.passwordHash ? null : `${named} has another password`;
}

/** How many steps of each kind. */
export function countSteps(steps: readonly { kind: StepKind }[]): Record<StepKind, number> {
  const counts: Record<StepKind, number> = { create: 0, link: 0, update: 0, skip: 0, clash: 0, bad: 0 };
  for (const step of steps) counts[step.kind] += 1;
  return counts;
}
