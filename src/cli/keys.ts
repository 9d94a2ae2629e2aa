// `chillfi3-auth keys ...`: the signing keys, listed, rotated and retired. Running servers pick every change up within
// AUTH_KEY_CHECK_INTERVAL and move staged keys on by themselves (src/keys/key-set-watch.ts, docs/operations.md).
import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { KeyOperations } from '../admin/key-operations.js';
import type { SigningKeySummary } from '../keys/key-store.js';
import { rotationTimes } from '../keys/key-set-watch.js';
import { type CliContext, OPERATOR } from './context.js';
import { printed, table } from './output.js';

function iso(at: Date | null): string {
  return at === null ? '' : at.toISOString();
}

function later(at: Date | null, seconds: number): Date | null {
  return at === null ? null : new Date(at.getTime() + seconds * 1000);
}

/** When a key moves on by itself, and to what. */
function nextStep(key: SigningKeySummary, config: Config): { step: string; at: Date | null } {
  const times = rotationTimes(config);
  switch (key.state) {
    case 'next':
      return { step: 'signs from', at: later(key.createdAt, times.publishSeconds) };
    case 'retiring':
      return { step: 'removed from', at: later(key.retiredAt, times.retireSeconds) };
    case 'active':
      return times.rotationDays > 0
        ? { step: 'replacement staged from', at: later(key.activatedAt, times.rotationDays * 86_400) }
        : { step: '', at: null };
  }
}

export function addKeysCommand(program: Command, context: CliContext): void {
  const keys = program.command('keys').description('The signing keys of tokens: next (published) → active (signs) → retiring (published until its tokens expire).');

  keys
    .command('list')
    .description('List the signing keys, their state, and when each moves on by itself.')
    .action(
      printed(context.io, () =>
        context.withStores(async ({ keys: store, config }) => {
          const list = (await store.list()).map((key) => ({ ...key, ...nextStep(key, config) }));
          const lines = table(
            ['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED', 'NEXT STEP'],
            list.map((key) => [key.kid, key.alg, key.state, iso(key.createdAt), iso(key.activatedAt), iso(key.retiredAt), `${key.step} ${iso(key.at)}`.trim()]),
          );
          return { json: { keys: list }, lines };
        }),
      ),
    );

  keys
    .command('rotate')
    .description('Stage a new key for each signing algorithm in use (or --alg): published now, signing after AUTH_KEY_PUBLISH_DELAY.')
    .option('--alg <alg>', 'only the key of this algorithm (ES256, ES384, PS256, RS256, EdDSA)')
    .action(
      printed(context.io, (options: { alg?: string }) =>
        context.withStores(async (stores) => {
          const { config } = stores;
          const algorithms = options.alg ? [options.alg] : [config.algorithms.accessToken, config.algorithms.idToken];
          const staged = await new KeyOperations(stores).rotate(algorithms, OPERATOR);
          const { publishSeconds } = rotationTimes(config);
          return {
            json: { staged: staged.map((key) => ({ ...key, signsFrom: later(key.createdAt, publishSeconds) })) },
            lines: staged.map((key) => `Staged ${key.alg} key ${key.kid}: published now, signing from ${iso(later(key.createdAt, publishSeconds))}.`),
          };
        }),
      ),
    );

  keys
    .command('retire')
    .description(
      'End a key\'s stage now: a next key is withdrawn; an active key stops signing and its staged next key takes over; ' +
        'a retiring key leaves the JWKS (tokens it signed stop verifying: for a key that must not be trusted).',
    )
    .argument('<kid>', 'the key, as `keys list` shows it')
    // A kid is a base64url thumbprint, which may begin with "-": taken as the argument, not as an unknown option.
    .allowUnknownOption()
    .action(
      printed(context.io, (kid: string) =>
        context.withStores(async (stores) => {
          const { removed, activated } = await new KeyOperations(stores).retire(kid, OPERATOR);
          return {
            json: { kid, removed, activated },
            lines: [removed ? `Removed key ${kid}.` : `Key ${kid} is retiring; ${activated} signs now.`],
          };
        }),
      ),
    );
}
