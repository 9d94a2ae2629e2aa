// The package's command line (its bin, src/sdk/bin.ts): `enrol` registers this ChillFi3 server at the auth server with
// an enrolment token and writes the lines its .env needs.
//   npx @chillfi3/auth-client enrol --server https://auth.example --token cf3e_... --url https://music.example
import { appendFile, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { enrol, enrolmentEnv } from './enrol.js';
import { messageOf } from './errors.js';

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `usage: npx @chillfi3/auth-client enrol --server URL --token TOKEN --url INSTANCE_URL [options]

Registers this ChillFi3 server at the auth server with a one-time enrolment token (an admin makes one: the console's
"Enrol a ChillFi3 server", or chillfi3-auth instances enrollment-token) and writes the lines its .env needs.

  --server URL      the auth server, e.g. https://auth.example
  --token TOKEN     the enrolment token
  --url URL         where this server's users open it, e.g. https://music.example
  --name NAME       the name users see (default: its host name; the token may fix another)
  --env-file PATH   where to add the lines (default .env); refused if it holds AUTH_API_KEY already
  --print           print the lines instead of writing them
`;

/** The exit codes: done, refused or failed, usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

async function envFileText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

export async function runCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        url: { type: 'string' },
        name: { type: 'string' },
        'env-file': { type: 'string', default: '.env' },
        print: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    io.stderr.write(`error: ${messageOf(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const missing = (['server', 'token', 'url'] as const).filter((name) => !values[name]);
  if (positionals[0] !== 'enrol' || positionals.length !== 1 || missing.length) {
    const why = positionals[0] !== 'enrol' ? 'the command is "enrol"' : `missing ${missing.map((name) => `--${name}`).join(', ')}`;
    io.stderr.write(`error: ${why}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const envFile = values['env-file'];
  try {
    const existing = values.print ? '' : await envFileText(envFile);
    if (/^\s*AUTH_API_KEY=/m.test(existing)) {
      io.stderr.write(`error: ${envFile} holds AUTH_API_KEY already: this server is enrolled (remove its AUTH_* lines to enrol it again)\n`);
      return EXIT.failed;
    }
    const enrolment = await enrol({ serverUrl: values.server!, token: values.token!, instanceUrl: values.url!, ...(values.name ? { name: values.name } : {}) });
    const lines = enrolmentEnv(enrolment);
    if (values.print) {
      io.stdout.write(`${lines.join('\n')}\n`);
    } else {
      const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
      await appendFile(envFile, `${separator}${lines.join('\n')}\n`, { mode: 0o600 });
      io.stdout.write(`Enrolled as "${enrolment.clientName}" (client id ${enrolment.clientId}); wrote its lines to ${envFile}. Restart the server.\n`);
    }
    return EXIT.ok;
  } catch (error) {
    io.stderr.write(`error: ${messageOf(error)}\n`);
    return EXIT.failed;
  }
}
