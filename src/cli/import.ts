// `chillfi3-auth import chillfi3`: brings a ChillFi3 instance's users over (src/import/ decides and writes; this file
// reads the command line, shows progress and prints the outcome).
import { Option, type Command } from 'commander';
import { applyImport, type AppliedStep } from '../import/apply-import.js';
import { mysqlFromEnvFile, readJsonUsers, readMysqlUsers } from '../import/chillfi3-sources.js';
import { NO_MAPPING, readMapping } from '../import/import-mapping.js';
import { countSteps, planImport, type ImportStep, type StepKind } from '../import/import-plan.js';
import { loadImportState, namesOf } from '../import/import-state.js';
import { type CliContext, type CliIo, OPERATOR } from './context.js';
import { instanceNamed } from './lookups.js';
import { printed, usageError, type Output } from './output.js';

interface ImportOptions {
  instance: string;
  mysql?: string;
  envFile?: string;
  jsonFile?: string;
  match?: 'username';
  map?: string;
  pictureBase?: string;
  dryRun?: boolean;
}

/** How a step reads in the summary and on its line. */
const LABELS: Record<StepKind, string> = { create: 'created', link: 'linked', update: 'updated', skip: 'skipped', clash: 'clashes', bad: 'bad rows' };

export function addImportCommand(program: Command, context: CliContext): void {
  const importCommand = program.command('import').description('Bring users over from elsewhere.');
  const chillfi3 = importCommand
    .command('chillfi3')
    .summary("Import a ChillFi3 instance's users table (from its MySQL/MariaDB or a JSON export).")
    .description(
      "Import a ChillFi3 instance's users into accounts with access to that (registered) instance: role from is_admin, " +
        'local id from id, bcrypt passwords kept (upgraded to argon2id at the first sign-in), no password: must set one. ' +
        'Give exactly one of --mysql, --env-file, --json-file. A username an account has already is a clash unless ' +
        '--match username or --map says who is who. Re-running skips what is imported already.',
    )
    .requiredOption('--instance <instance>', 'the instance the users come from: id or client id')
    .option('--mysql <url>', "ChillFi3's database: mysql://user:password@host:3306/name")
    .option('--env-file <path>', "ChillFi3's .env: its DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME")
    .option('--json-file <path>', "a JSON array of users rows with ChillFi3's column names")
    .addOption(
      new Option(
        '--match <rule>',
        'username: an account of the same username is the same person when it has the very same bcrypt hash, is no server admin and has no set-password link pending; any other clash needs --map',
      ).choices(['username']),
    )
    .option('--map <file>', 'JSON {"<id or username>": "<account id or username>" | {"create": "<new username>"}}, admin-confirmed')
    .option('--picture-base <url>', "the instance's address, to make profile_image_url paths absolute")
    .option('--dry-run', 'print what would happen, change nothing');
  chillfi3.action(
    printed(context.io, (options: ImportOptions) => {
      const sources = [options.mysql, options.envFile, options.jsonFile].filter((source) => source !== undefined);
      if (sources.length !== 1) usageError(chillfi3, 'give exactly one of --mysql, --env-file, --json-file');
      return importChillFi3(context, options);
    }),
  );
}

async function importChillFi3(context: CliContext, options: ImportOptions): Promise<Output> {
  const rows = options.jsonFile
    ? await readJsonUsers(options.jsonFile)
    : await readMysqlUsers(options.envFile ? await mysqlFromEnvFile(options.envFile) : (options.mysql as string));
  const mapping = options.map ? await readMapping(options.map) : NO_MAPPING;
  return context.withStores(async ({ dataSource, accounts, instances, audit }) => {
    const instance = await instanceNamed(instances, options.instance);
    const started = performance.now();
    const state = await loadImportState(dataSource, instance.id, namesOf(rows, mapping));
    const plan = planImport(rows, state, { match: options.match, mapping, pictureBase: options.pictureBase });
    const steps = options.dryRun
      ? plan
      : await applyImport(plan, { dataSource, accounts, instances, audit, instanceId: instance.id, actor: OPERATOR }, progressOn(context.io));
    const seconds = (performance.now() - started) / 1000;
    const counts = countSteps(steps.map((step) => ({ kind: outcomeOf(step) })));
    const withoutPassword = steps.filter((step) => step.kind === 'create' && outcomeOf(step) === 'create' && step.user.passwordHash === null).length;
    const summary = { ...counts, withoutPassword, rows: rows.length, seconds: Number(seconds.toFixed(3)), rowsPerSecond: Math.round(rows.length / seconds) };
    const dryRun = options.dryRun === true;
    return {
      json: { instance: { id: instance.id, name: instance.name }, dryRun, summary, rows: steps.map(rowView) },
      lines: [
        dryRun ? `Dry run for "${instance.name}": nothing was written.` : `Imported into "${instance.name}".`,
        ...steps.flatMap(rowLines),
        `${dryRun ? 'would be ' : ''}${(Object.keys(LABELS) as StepKind[]).map((kind) => `${LABELS[kind]} ${counts[kind]}`).join(', ')} ` +
          `(${rows.length} rows in ${seconds.toFixed(1)} s)`,
        ...(withoutPassword === 0
          ? []
          : [`${withoutPassword} new accounts have no password: give each a link with "chillfi3-auth users password-link <user>".`]),
      ],
    };
  });
}

/** A step that failed while being written counts as a bad row. */
function outcomeOf(step: ImportStep | AppliedStep): StepKind {
  return 'failed' in step && step.failed !== undefined ? 'bad' : step.kind;
}

/** What --json shows of a row: never its password hash. */
function rowView(step: ImportStep | AppliedStep) {
  if (step.kind === 'bad') return { id: step.bad.id, action: 'bad', reason: step.bad.reason };
  const failed = 'failed' in step ? step.failed : undefined;
  const createdId = 'accountId' in step ? step.accountId : undefined;
  return {
    id: step.user.localId,
    username: step.user.username,
    action: outcomeOf(step),
    role: step.user.role,
    hasPassword: step.user.passwordHash !== null,
    account: step.kind === 'create' ? (createdId ?? null) : (step.account?.id ?? null),
    ...(step.kind === 'link' ? { matchedBy: step.reason, setsPassword: step.setPassword } : {}),
    ...(step.kind === 'clash' ? { reason: step.reason } : {}),
    ...(failed === undefined ? {} : { reason: failed }),
    ...('notes' in step && step.notes.length > 0 ? { notes: step.notes } : {}),
  };
}

/** A line for each row worth an operator's eye: clashes, bad rows, links, updates, dropped fields. */
function rowLines(step: ImportStep | AppliedStep): string[] {
  if (step.kind === 'bad') return [`  bad     id ${String(step.bad.id)}: ${step.bad.reason}`];
  const row = `id ${step.user.localId} "${step.user.username}"`;
  const failed = 'failed' in step ? step.failed : undefined;
  if (failed !== undefined) return [`  bad     ${row}: ${failed}`];
  const notes = 'notes' in step ? step.notes.map((note) => `  note    ${row}: ${note}`) : [];
  switch (step.kind) {
    case 'clash':
      return [`  clash   ${row}: ${step.reason}`];
    case 'link':
      return [`  link    ${row} to account "${step.account.username}" (${step.reason}${step.setPassword ? ", which takes the row's password" : ''})`, ...notes];
    case 'update':
      return [`  update  ${row}: role ${step.previousRole} to ${step.user.role}`];
    default:
      return notes;
  }
}

/** A progress line on stderr, only for a person watching (a terminal), at most every 1% of the rows. */
function progressOn(io: CliIo): ((done: number, total: number) => void) | undefined {
  if ((io.stderr as { isTTY?: boolean }).isTTY !== true) return undefined;
  return (done, total) => {
    if (done !== total && done % Math.max(1, Math.floor(total / 100)) !== 0) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} rows${done === total ? '\n' : ''}`);
  };
}
