// LIKE patterns from user text, the same on PostgreSQL and SQLite: every use writes `LIKE :pattern ESCAPE '\'`.

/** `text` with LIKE's wildcards and the escape character taken literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
