// Testing one migration among later ones: the schema as the version before it left it, then that migration alone
// (with whatever came after it), whichever migration happens to be the newest today.
import type { DataSource } from 'typeorm';
import { migrations } from '../../migrations/index.js';

type Migration = (typeof migrations)[number];

/** The migration and every later one, oldest first: what undoing down to the schema before it takes. */
export function migrationsFrom(migration: Migration): Migration[] {
  const index = migrations.indexOf(migration);
  if (index < 0) throw new Error(`${migration.name} is not in migrations/index.ts`);
  return migrations.slice(index);
}

/** The migrations before `migration`, oldest first: a data source of them builds the schema it starts from. */
export function migrationsBefore(migration: Migration): Migration[] {
  return migrations.slice(0, migrations.length - migrationsFrom(migration).length);
}

/** Undoes the newest migrations down to, and including, `migration`. */
export async function undoThrough(dataSource: DataSource, migration: Migration): Promise<void> {
  for (let left = migrationsFrom(migration).length; left > 0; left--) await dataSource.undoLastMigration();
}
