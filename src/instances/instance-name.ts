// When two instance names are the same name: what the unique `name_key` column of server_instances holds. Names are
// what admins pick instances by (console, CLI, audit), so two that read alike must not both exist.

/** Longest key the column holds: NFKC can lengthen a 100-character name (one ligature becomes several letters). */
export const NAME_KEY_LENGTH = 400;

/**
 * The name as compared: NFKC (full-width, ligatures and compatibility forms read as their plain letters, NFC and NFD
 * spellings alike), case-folded (upper then lower case, so that `ß` and `SS` meet), invisible characters dropped
 * (zero-width spaces, joiners, variation selectors), every run of white space one space, trimmed.
 */
export function instanceNameKey(name: string): string {
  return name
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
}
