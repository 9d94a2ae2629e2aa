// What importing a ChillFi3 users table into one instance would do, decided without touching anything: --dry-run
// prints this plan, an import carries it out (apply-import.ts). The rules, in order, for each row:
//  1. a row that fails its checks, or repeats an id or a username of the table, is a bad row;
//  2. a row already imported (this instance, this local id) is skipped, or its role updated;
//  3. a row the mapping file names is linked to the account it names, or created under the username it gives;
//  4. a row whose username no account has yet becomes a new account;
//  5. a row whose username an account has already is the same person only with --match username and either the very
//     same bcrypt hash string or no password on one side (with two different hashes, no one here knows the password
//     that would show they match); anything else is a clash: reported, never merged.
import { checkUsername } from '../accounts/account-store.js';
import type { AppError } from '../errors.js';
import type { InstanceRole } from '../instances/instance-access-entity.js';
import { checkRow, type BadRow, type ChillFi3Row, type ChillFi3User } from './chillfi3-user.js';
import type { ImportMapping } from './import-mapping.js';

/** An account as the plan needs to know it. */
export interface KnownAccount {
  id: string;
  username: string;
  passwordHash: string | null;
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
  /** `username`: an account of the same username may be the same person (rule 5). */
  match?: 'username';
  mapping: ImportMapping;
  pictureBase?: string;
}

/** Why a row is linked to an existing account rather than created. */
export type LinkReason = 'mapping' | 'same password hash' | 'no password on one side';

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
  const accountByName = new Map(state.accounts.map((account) => [account.username.toLowerCase(), account]));
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
      seenNames.add(user.username.toLowerCase());
      return known.role === user.role
        ? { kind: 'skip', user, account: knownAccount }
        : { kind: 'update', user, account: knownAccount, previousRole: known.role };
    }
    const target = options.mapping.targetOf(user.localId, user.username);
    if (target && 'account' in target) {
      const account = accountById.get(target.account) ?? accountByName.get(target.account.toLowerCase());
      if (!account) return { kind: 'bad', bad: { id: user.localId, reason: `the mapping file names no existing account "${target.account}"` } };
      return linkTo(user, account, 'mapping', notes);
    }
    const wanted = target ? { ...user, username: target.create } : user;
    if (target) {
      try {
        checkUsername(wanted.username);
      } catch (error) {
        return { kind: 'bad', bad: { id: user.localId, reason: `the mapping file's username: ${(error as AppError).message}` } };
      }
    }
    const name = wanted.username.toLowerCase();
    if (seenNames.has(name)) return { kind: 'bad', bad: { id: user.localId, reason: `username "${wanted.username}" is repeated in the table` } };
    seenNames.add(name);
    const sameName = accountByName.get(name);
    if (!sameName) return { kind: 'create', user: wanted, notes };
    const reason = options.match === 'username' && !target ? sameAccountReason(sameName, wanted) : null;
    if (reason) return linkTo(wanted, sameName, reason, notes);
    return {
      kind: 'clash',
      user: wanted,
      account: sameName,
      reason:
        options.match === 'username' && !target
          ? `account "${sameName.username}" has another password: confirm in a mapping file`
          : `account "${sameName.username}" exists: link to it with --match username or a mapping file, or import under another username with a mapping file`,
    };
  }

  function linkTo(user: ChillFi3User, account: KnownAccount, reason: LinkReason, notes: string[]): ImportStep {
    const taken = linkByAccount.get(account.id);
    if (taken || claimed.has(account.id)) {
      const where = taken?.localUserId ? ` (local id ${taken.localUserId})` : '';
      return { kind: 'clash', user, account, reason: `account "${account.username}" is already linked to this instance${where}` };
    }
    claimed.add(account.id);
    // An account without a password gets the row's, else its owner could never sign in; one with a password keeps it.
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

/** Rule 5: why an account of the same username is this row's person, or null when nothing shows it. */
function sameAccountReason(account: KnownAccount, user: ChillFi3User): LinkReason | null {
  if (account.passwordHash === null || user.passwordHash === null) return 'no password on one side';
  return account.passwordHash === user.passwordHash ? 'same password hash' : null;
}

/** How many steps of each kind. */
export function countSteps(steps: readonly { kind: StepKind }[]): Record<StepKind, number> {
  const counts: Record<StepKind, number> = { create: 0, link: 0, update: 0, skip: 0, clash: 0, bad: 0 };
  for (const step of steps) counts[step.kind] += 1;
  return counts;
}
