// `chillfi3-auth secrets reseal`: the last step of a master secret rotation (docs/operations.md).
import type { Command } from 'commander';
import { resealSecrets } from '../security/secret-reseal.js';
import type { CliContext } from './context.js';
import { printed } from './output.js';

export function addSecretsCommand(program: Command, context: CliContext): void {
  const secrets = program.command('secrets').description('The values sealed under the master secret (AUTH_SECRET_KEY).');

  secrets
    .command('reseal')
    .description('Seal every client secret and private signing key under AUTH_SECRET_KEY again, so AUTH_SECRET_KEY_PREVIOUS can be dropped.')
    .action(
      printed(context.io, () =>
        context.withStores(async ({ dataSource, secrets: box, keys, config }) => {
          const count = await resealSecrets(dataSource, box, keys);
          const lines = [
            `Re-sealed ${count.clientSecrets} client secret(s), ${count.signingKeys} signing key(s) and ${count.totpSecrets} authenticator app secret(s) under AUTH_SECRET_KEY.`,
            ...(config.previousSecretKeys.length > 0
              ? [`AUTH_SECRET_KEY_PREVIOUS can be dropped once every node runs with this AUTH_SECRET_KEY and TOKEN_TTL (${config.ttl.accessToken} s) has passed.`]
              : []),
          ];
          return { json: count, lines };
        }),
      ),
    );
}
