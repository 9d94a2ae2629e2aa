// `chillfi3-auth instances enrollment-token ...`: enrolment tokens from a shell, through the same operations as the
// console's and the admin API's (src/admin/enrolment-operations.ts), audited alike.
import { Option, type Command } from 'commander';
import { BadRequest } from '../errors.js';
import type { AccessPolicy } from '../instances/instance-entity.js';
import { DEFAULT_ENROLMENT_TTL } from '../instances/enrolment-tokens.js';
import { type CliContext, OPERATOR } from './context.js';
import { printed, table } from './output.js';

interface EnrolmentTokenOptions {
  ttl: number;
  policy?: AccessPolicy;
  name?: string;
  allowAdmin?: boolean;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90", "90s", "15m", "1h", "7d" in seconds: a number and one unit is all a token's life needs. */
export function durationSeconds(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new BadRequest(`--ttl must be a whole number of seconds, or one with a unit (15m, 1h, 7d): not "${value}"`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

export function addEnrolmentCommands(instances: Command, context: CliContext): void {
  instances
    .command('enrollment-token')
    .summary('Make a one-time token with which a new ChillFi3 server registers itself.')
    .description(
      'Make a one-time enrolment token: the new ChillFi3 server registers itself with it at the registration endpoint ' +
        '(npx @chillfi3/auth-client enrol --server URL --token TOKEN --url https://its.address). The token is printed ' +
        'once; it works for one registration, until it expires or is withdrawn.',
    )
    .option('--ttl <duration>', `how long it works: seconds, or 15m, 1h, 7d (default ${DEFAULT_ENROLMENT_TTL / 3600}h)`, durationSeconds, DEFAULT_ENROLMENT_TTL)
    .addOption(new Option('--policy <policy>', 'who may sign in to the instance (default open)').choices(['open', 'invite']))
    .option('--name <name>', 'the name the instance gets, whatever it asks for')
    .option('--allow-admin', 'let it ask for the admin scope (its signed-in admins may call the admin API)')
    .action(
      printed(context.io, (options: EnrolmentTokenOptions) =>
        context.withServices(async ({ enrolmentOperations }) => {
          const issued = await enrolmentOperations.issue(
            { ttlSeconds: options.ttl, accessPolicy: options.policy, name: options.name ?? null, allowAdmin: options.allowAdmin === true },
            OPERATOR,
          );
          const expiresAt = issued.expiresAt.toISOString();
          return {
            json: { token: issued.token, expiresAt, registrationEndpoint: issued.registrationEndpoint, id: issued.id },
            lines: [
              `Enrolment token (shown only this once): ${issued.token}`,
              `It works once, until ${expiresAt}. On the new ChillFi3 server run:`,
              `  npx @chillfi3/auth-client enrol --server ${new URL(issued.registrationEndpoint).origin} --token ${issued.token} --url https://<its address>`,
              `Withdraw it with: chillfi3-auth instances withdraw-enrollment-token ${issued.id}`,
            ],
          };
        }),
      ),
    );

  instances
    .command('enrollment-tokens')
    .description('List the enrolment tokens that may still be used (never the tokens themselves).')
    .action(
      printed(context.io, () =>
        context.withServices(async ({ enrolmentOperations }) => {
          const live = await enrolmentOperations.listLive();
          return {
            json: { enrollmentTokens: live.map(({ tokenHash: _hash, ...token }) => token) },
            lines: live.length
              ? table(
                  ['ID', 'EXPIRES', 'POLICY', 'ADMIN', 'NAME'],
                  live.map((token) => [token.id, token.expiresAt.toISOString(), token.accessPolicy, token.allowAdmin ? 'yes' : 'no', token.name ?? '-']),
                )
              : ['No enrolment token may be used now.'],
          };
        }),
      ),
    );

  instances
    .command('withdraw-enrollment-token')
    .description('Withdraw an unused enrolment token: no server can register with it any more.')
    .argument('<id>', 'the id `instances enrollment-tokens` lists')
    .action(
      printed(context.io, (id: string) =>
        context.withServices(async ({ enrolmentOperations }) => {
          await enrolmentOperations.withdraw(id, OPERATOR);
          return { json: { withdrawn: id }, lines: [`Enrolment token ${id} withdrawn.`] };
        }),
      ),
    );
}
