// The `chillfi3-auth` command line: the program (commander) with every command group on it, and runCli, which runs
// one command line on given streams and resolves to the exit code (src/cli/output.ts says which).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { projectRoot } from '../project-root.js';
import { addAccessCommand } from './access.js';
import { addAuditCommand } from './audit.js';
import { addBackupCommand } from './backup.js';
import { CliContext, type CliIo, type ServicesStarter } from './context.js';
import { addImportCommand } from './import.js';
import { addInstancesCommand } from './instances.js';
import { addKeysCommand } from './keys.js';
import { addMigrateCommand } from './migrate.js';
import { EXIT_OK } from './exit-codes.js';
import { jsonRequested, reportFailure, usageError, wantsJson } from './output.js';
import { addSecretsCommand } from './secrets.js';
import { addSessionsCommand } from './sessions.js';
import { addUsersCommand } from './users.js';

const ENVIRONMENT_HELP = `
Configuration comes from the same environment as the server:
  AUTH_DATABASE_URL or AUTH_DB_*  PostgreSQL (run "migrate" first); unset, the
                                  embedded SQLite file in AUTH_DATA_DIR
                                  (migrated automatically)
  AUTH_SECRET_KEY                 seals client secrets: required with
                                  PostgreSQL; unset on SQLite, the one generated
                                  beside the database is used
  AUTH_ISSUER                     the URL instances use; unset, the one the
                                  server recorded at its last start (set, it
                                  must be that one)
Exit codes: 0 done, 1 failed otherwise, 2 usage error, 65 invalid input,
  66 not found, 69 database not usable (run "migrate"), 73 conflict (exists
  already, last admin), 75 a store is unavailable (try again), 78 invalid
  configuration. With --json, errors are a JSON document on stdout too:
  {"error": {"code": "...", "message": "..."}}.`;

const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };

/** Runs one command line; resolves to the exit code. Never throws for expected errors. */
export async function runCli(argv: string[], io: CliIo, startServices: ServicesStarter): Promise<number> {
  const json = jsonRequested(argv);
  try {
    await buildProgram(new CliContext(io, startServices), json).parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return reportFailure(error, io, json);
  }
}

/** A fresh program per run: commander keeps the parsed values on the commands. */
function buildProgram(context: CliContext, json: boolean): Command {
  const { io } = context;
  // Set before the commands are added: commands inherit these from their parent when created.
  const program = new Command('chillfi3-auth')
    .usage('<command> [options]')
    .option('--json', 'print one JSON document on stdout instead of lines (an error too)')
    .option('-V, --version', 'print the version')
    // Replaced by the `help` command below, which also answers --json.
    .helpCommand(false)
    // Commander throws instead of exiting the process: runCli turns what it throws into the exit code.
    .exitOverride()
    // With --json, the error document replaces commander's text (reportFailure prints it).
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => (json ? undefined : io.stderr.write(text)) })
    .configureHelp({
      showGlobalOptions: true,
      // Every command on one page, named as it is typed ("users add"), rather than only the groups.
      visibleCommands: (command) => command.commands.flatMap(runnableCommands),
      subcommandTerm: (command) => `${commandPath(command)} ${command.usage()}`,
    })
    .showHelpAfterError();
  // Answered as soon as it is parsed, before any command runs; with --json as a document.
  program.on('option:version', () => {
    io.stdout.write(json ? `${JSON.stringify({ version })}\n` : `${program.name()} ${version}\n`);
    throw new CommanderError(EXIT_OK, 'commander.version', version);
  });
  addMigrateCommand(program, context);
  addBackupCommand(program, context);
  addUsersCommand(program, context);
  addInstancesCommand(program, context);
  addAccessCommand(program, context);
  addSessionsCommand(program, context);
  addAuditCommand(program, context);
  addKeysCommand(program, context);
  addSecretsCommand(program, context);
  addImportCommand(program, context);
  addHelpCommand(program, io);
  // The top level answers a usage error with a short usage rather than with its whole help; commands, with theirs.
  return program
    .addHelpText('after', ENVIRONMENT_HELP)
    .showHelpAfterError(
      `\nUsage: ${program.name()} ${program.usage()}\n` +
        `Commands: ${program.commands.map((command) => command.name()).join(', ')}\n` +
        `Run "${program.name()} help" for every command and its options, or "<command> --help" for one.`,
    );
}

/** `help [command...]`: the help of everything or of one command; with --json, the commands as data. */
function addHelpCommand(program: Command, io: CliIo): void {
  const help = program
    .command('help')
    .argument('[command...]', 'a command or group, as typed (for example: users add)')
    .description('Show this help (also: --help, -h, or <command> --help).')
    .action((names: string[]) => {
      const target = findCommand(program, names) ?? usageError(help, `unknown command "${names.join(' ')}"`);
      if (!wantsJson(help)) return target.outputHelp();
      const commands = runnableCommands(target).map((command) => ({
        command: commandPath(command),
        usage: `${program.name()} ${commandPath(command)} ${command.usage()}`,
        summary: command.description(),
        options: command.options.map((option) => ({
          flags: option.flags,
          description: option.description,
          required: option.mandatory,
        })),
      }));
      io.stdout.write(`${JSON.stringify({ commands }, null, 2)}\n`);
    });
}

function findCommand(program: Command, names: string[]): Command | undefined {
  let found: Command | undefined = program;
  for (const name of names) found = found?.commands.find((command) => command.name() === name);
  return found;
}

/** The commands that do something under `command` (itself if it has no subcommands). */
function runnableCommands(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(runnableCommands);
}

/** A command's name as typed after the program's: "users add". */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}
