// `chillfi3-auth backup <folder>`: a consistent copy of the embedded database taken while the server runs, with the
// secret file it cannot be used without. The copy is SQLite's online backup (better-sqlite3's backup API): pages are
// read within read transactions, which in WAL mode never block the server's writes, and a backup that a write
// overtakes between two steps starts over, so the copy is one moment of the database. PostgreSQL is backed up with
// its own tools (docs/operations.md, "Backups").
import { chmodSync, constants, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { AppError } from '../errors.js';
import type { CliContext } from './context.js';
import { printed, type Output } from './output.js';

/**
 * Pages copied per step after the first (better-sqlite3's default is 100): all of a database this server makes in one
 * step, so that under a steady stream of writes the copy finishes instead of being overtaken again and again.
 */
const PAGES_PER_STEP = 1_000_000;

export function addBackupCommand(program: Command, context: CliContext): void {
  program
    .command('backup')
    .description('Copy the embedded database and its secret file into a folder, while the server runs (PostgreSQL: use pg_dump).')
    .argument('<folder>', 'where to write them (made if missing); files already there are never overwritten')
    .action(printed(context.io, (folder: string) => backup(context, folder)));
}

async function backup(context: CliContext, folder: string): Promise<Output> {
  const { database, generatedSecret } = context.config();
  if (database.type !== 'sqlite') {
    throw new AppError('not_embedded', 'backup copies the embedded SQLite database; back up PostgreSQL with pg_dump -Fc (docs/operations.md, "Backups")', {
      status: 400,
      expose: true,
    });
  }
  if (!existsSync(database.file)) {
    throw new AppError('not_found', `no database at ${database.file} (AUTH_DATA_DIR)`, { status: 404, expose: true });
  }
  const target = resolve(folder);
  const copy = resolve(target, basename(database.file));
  const secretCopy = generatedSecret ? resolve(target, basename(generatedSecret.file)) : undefined;
  for (const file of [copy, secretCopy]) {
    if (file && existsSync(file)) throw new AppError('exists', `${file} exists already: back up into another folder`, { status: 409, expose: true });
  }
  mkdirSync(target, { recursive: true, mode: 0o700 });
  // Written under another name and renamed when complete: a backup cut short leaves no file that looks whole.
  const partial = `${copy}.partial`;
  const source = new Database(database.file, { fileMustExist: true, timeout: 5000 });
  try {
    await source.backup(partial, { progress: () => PAGES_PER_STEP });
    chmodSync(partial, 0o600);
    renameSync(partial, copy);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    source.close();
  }
  if (generatedSecret && secretCopy) copyFileSync(generatedSecret.file, secretCopy, constants.COPYFILE_EXCL);
  const bytes = statSync(copy).size;
  const lines = [`database: ${copy} (${bytes} bytes)`];
  const warnings: string[] = [];
  if (secretCopy) lines.push(`secret:   ${secretCopy}`);
  else warnings.push('the master secret comes from AUTH_SECRET_KEY: keep it with this backup, which cannot be used without it');
  lines.push('Restore: stop the server, put both files in an empty AUTH_DATA_DIR, start it (docs/operations.md, "Backups").');
  return { json: { database: copy, secret: secretCopy ?? null, bytes }, lines, warnings };
}
