// What the stores can hold. PostgreSQL text cannot hold the NUL character (it rejects the whole statement), so a
// value from a request that carries one can never name a stored record: lookups answer "not found" without asking.
// Kept in one place so that every store draws the line alike, whatever the database.

/** False for a string no store can hold as a key or a text value (it contains NUL). */
export function isStorable(value: string): boolean {
  return !value.includes('\0');
}
