// `chillfi3-auth migrate`: runs the pending migrations, the only way a PostgreSQL database is migrated.
import type { Command } from 'commander';
import { openStores } from '../stores.js';
import type { CliContext } from './context.js';
import { printed, type Output } from './output.js';

export function addMigrateCommand(program: Command, context: CliContext): void {
  program
    .command('migrate')
    .description('Run the pending database migrations and list them.')
    .action(printed(context.io, () => migrate(context)));
}

async function migrate(context: CliContext): Promise<Output> {
  const config = context.config();
  const { database } = config;
  // 'as-is': this command runs the migrations itself and reports them, so opening the database leaves them be.
  const stores = await openStores(config, { schema: 'as-is' });
  try {
    const ran = (await stores.dataSource.runMigrations()).map((migration) => migration.name);
    const where = database.type === 'sqlite' ? `SQLite (${database.file})` : 'PostgreSQL';
    const lines =
      ran.length === 0
        ? [`${where}: up to date, no migrations to run.`]
        : [`${where}: ran ${ran.length} migration${ran.length === 1 ? '' : 's'}:`, ...ran.map((name) => `  ${name}`)];
    return { json: { database: database.type, migrations: ran }, lines };
  } finally {
    await stores.close();
  }
}
