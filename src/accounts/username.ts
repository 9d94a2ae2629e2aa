// Usernames: when two are the same (their key), which new ones are accepted, and which stored or imported ones are
// kept as they are. Every way in (first run, console, CLI, user and admin APIs, the import) comes through here, by the
// account store and the API schemas. README.md, "Usernames", states the rules for people.
import { BadRequest } from '../errors.js';

/** The longest username, and the longest key, in characters (code points): the columns hold 50. */
export const USERNAME_MAX_LENGTH = 50;

/** The rule for new usernames, as the errors and the docs word it. */
export const USERNAME_RULE = `1 to ${USERNAME_MAX_LENGTH} letters, digits and . _ - @, starting with a letter or a digit`;

/**
 * A new username: letters (any script, each with its combining marks: é in NFD, Devanagari vowel signs), digits, and
 * `. _ - @`, starting with a letter or digit (a leading "-" would read as an option on the command line). No spaces,
 * symbols, punctuation that markup or a shell gives meaning to, control or format characters (bidi overrides, zero
 * width joiners).
 */
const NEW_USERNAME = /^[\p{L}\p{Nd}]\p{M}*(?:[._@-]|[\p{L}\p{Nd}]\p{M}*)*$/u;

/** Letters that show as nothing (U+3164 HANGUL FILLER is a letter to Unicode): no new name may hold one. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;

/** What older versions accepted, and the import still keeps: 1 to 50 printable characters, no space at either end. */
const STORED_USERNAME = /^[^\s\p{C}](?:[^\p{C}]{0,48}[^\s\p{C}])?$/u;

function length(text: string): number {
  return [...text].length;
}

/**
 * The key that makes two usernames the same one: NFKC, then lower case, then NFKC again. Accounts are unique by it
 * and found by it (sign-in, lookups, import matching). NFKC joins what only looks different: compatibility forms
 * (full-width ａ, ligatures, superscripts, circled letters) become the plain letters, and a decomposed é (NFD) the
 * composed one. Lower case sets case aside. JavaScript has no Unicode case folding; lower case is what the key was
 * before, so ordinary names keep their keys, and it differs from folding only where the letters do not look alike
 * (ß and ss, ς and σ). Lower-casing can make a sequence NFKC composes further (H + U+0331 becomes h + U+0331, which
 * NFKC writes as ẖ), hence the second NFKC: with it the key of a key is itself (tested over every code point).
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Why a new username is refused (a clause that follows "username"), or null: under USERNAME_RULE, in NFC. */
export function newUsernameProblem(username: string): string | null {
  const composed = username.normalize('NFC');
  if (length(composed) < 1 || length(composed) > USERNAME_MAX_LENGTH) return `must be 1 to ${USERNAME_MAX_LENGTH} characters`;
  if (!NEW_USERNAME.test(composed) || INVISIBLE.test(composed)) return `may only hold letters, digits and . _ - @, and must start with a letter or a digit`;
  if (length(usernameKey(composed)) > USERNAME_MAX_LENGTH) return `must be at most ${USERNAME_MAX_LENGTH} characters once ligatures and other compatibility forms are written out`;
  return null;
}

/**
 * A new username, checked (BadRequest naming the rule) and kept in NFC: the same letters whichever way a keyboard
 * composed them, so instances see one spelling of it in their tokens.
 */
export function checkNewUsername(username: string): string {
  const problem = newUsernameProblem(username);
  if (problem) throw new BadRequest(`username ${problem}`);
  return username.normalize('NFC');
}

/**
 * An imported username (a ChillFi3 row's), kept exactly as it is so the instance's tokens match its own table: what
 * older versions accepted, and a key the column can hold.
 */
export function checkImportedUsername(username: string): string {
  if (!STORED_USERNAME.test(username)) {
    throw new BadRequest(`username must be 1 to ${USERNAME_MAX_LENGTH} printable characters, without leading or trailing spaces`);
  }
  if (length(usernameKey(username)) > USERNAME_MAX_LENGTH) {
    throw new BadRequest(`username must be at most ${USERNAME_MAX_LENGTH} characters once ligatures and other compatibility forms are written out`);
  }
  return username;
}
