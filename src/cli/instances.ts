// `chillfi3-auth instances ...`: ChillFi3 instances (OIDC clients), from a shell.
import type { Command } from 'commander';
import { BadRequest } from '../errors.js';
import type { AccessPolicy, Instance, TokenAuthMethod } from '../instances/instance-entity.js';
import { DEFAULT_SCOPES, GRANT_TYPES, INSTANCE_SCOPES, USERS_READ_SCOPE } from '../instances/instance-store.js';
import type { CliContext } from './context.js';
import { instanceNamed } from './lookups.js';
import { printed, table, yesNo, type Output } from './output.js';

interface AddInstanceOptions {
  name: string;
  redirectUri?: string[];
  postLogoutRedirectUri?: string[];
  backchannelLogoutUri?: string;
  grantTypes?: string[];
  authMethod?: TokenAuthMethod;
  skipConsent?: boolean;
  scopes?: string[];
  ipAllow?: string[];
  rateLimit?: number;
}

export function addInstancesCommand(program: Command, context: CliContext): void {
  const instances = program.command('instances').description('ChillFi3 instances (OIDC clients).');

  instances
    .command('add')
    .summary('Register a ChillFi3 instance (an OIDC client).')
    .description(
      'Register a ChillFi3 instance (an OIDC client). Prints its client secret once: store it then. URI options take ' +
        'several values, or repeat.',
    )
    .requiredOption('--name <name>', 'the name users see')
    .option('--redirect-uri <uri...>', 'where sign-in returns to')
    .option('--post-logout-redirect-uri <uri...>', 'where sign-out may return to')
    .option('--backchannel-logout-uri <uri>', 'where the server posts logout tokens when a session ends')
    .option(
      '--grant-types <types>',
      `comma separated: ${GRANT_TYPES.join(', ')} (default: authorization_code,refresh_token)`,
      commaList,
    )
    .option(
      '--auth-method <method>',
      'how it authenticates to the server: client_secret_basic (default), client_secret_post, client_secret_jwt, none',
    )
    .option('--skip-consent', 'sign users in without asking their consent (a first-party instance)')
    .option(
      '--scopes <scopes>',
      `comma separated, among ${INSTANCE_SCOPES.join(', ')} (default: ${DEFAULT_SCOPES.split(' ').join(',')}); ` +
        `${USERS_READ_SCOPE} lets its own client_credentials tokens read its users' profiles`,
      commaList,
    )
    .option(
      '--ip-allow <cidr...>',
      'the only addresses it may call the token, introspection and revocation endpoints from',
    )
    .option('--rate-limit <n>', 'its requests per minute to those endpoints', wholeNumber('--rate-limit'))
    .action(printed(context.io, (options: AddInstanceOptions) => addInstance(context, options)));

  instances
    .command('list')
    .description('List instances: id, name, client_id, grant types, redirect URIs, auth method, skip consent. No secrets.')
    .action(printed(context.io, () => listInstances(context)));

  instances
    .command('set-policy')
    .description('Who may sign in to an instance: "invite" (only accounts given access) or "open" (anyone, as a member).')
    .argument('<instance>', 'id or client id')
    .argument('<policy>', 'open or invite')
    .action(
      printed(context.io, (name: string, policy: string) =>
        context.withStores(async ({ instances }) => {
          const instance = await instances.setAccessPolicy((await instanceNamed(instances, name)).id, policy as AccessPolicy);
          return { json: { instance: instanceView(instance) }, lines: [`"${instance.name}" is ${instance.accessPolicy} now.`] };
        }),
      ),
    );
}

async function addInstance(context: CliContext, options: AddInstanceOptions): Promise<Output> {
  const issuer = context.config().issuer;
  return context.withStores(async ({ instances }) => {
    const { instance, clientSecret } = await instances.create({
      name: options.name,
      redirectUris: options.redirectUri ?? [],
      postLogoutRedirectUris: options.postLogoutRedirectUri ?? [],
      backchannelLogoutUri: options.backchannelLogoutUri,
      grantTypes: options.grantTypes,
      tokenEndpointAuthMethod: options.authMethod,
      skipConsent: options.skipConsent === true,
      scopes: options.scopes,
      ipAllowlist: options.ipAllow ?? [],
      rateLimit: options.rateLimit ?? null,
    });
    const lines = [
      `Registered instance "${instance.name}" (id ${instance.id}).`,
      `  client_id:     ${instance.clientId}`,
      `  client_secret: ${clientSecret ?? '(none: public client)'}`,
      '',
    ];
    if (clientSecret !== null) {
      lines.push('Store the client secret now: it is shown only this once and cannot be read back.');
    }
    lines.push(
      "Set these in the ChillFi3 instance's environment:",
      `  AUTH_SERVER_URL=${issuer}`,
      `  AUTH_API_KEY=${instance.clientId}`,
      ...(clientSecret === null ? [] : [`  AUTH_API_SECRET=${clientSecret}`]),
    );
    return { json: { instance: instanceView(instance), clientSecret, authServerUrl: issuer }, lines };
  });
}

async function listInstances(context: CliContext): Promise<Output> {
  return context.withStores(async ({ instances }) => {
    const views = (await instances.list()).map(instanceView);
    const lines =
      views.length === 0
        ? ['No instances.']
        : table(
            ['ID', 'NAME', 'CLIENT_ID', 'GRANT TYPES', 'REDIRECT URIS', 'AUTH METHOD', 'SKIP CONSENT'],
            views.map((instance) => [
              instance.id,
              instance.name,
              instance.clientId,
              instance.grantTypes.join(','),
              instance.redirectUris.join(' '),
              instance.tokenEndpointAuthMethod,
              yesNo(instance.skipConsent),
            ]),
          );
    return { json: { instances: views }, lines };
  });
}

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * A parser for a whole-number option. A bad value is a refused operation (BadRequest, exit 1) like the other values
 * the store refuses, not a usage error.
 */
function wholeNumber(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new BadRequest(`${flag} must be a whole number`);
    return Number(value);
  };
}

/** What the CLI shows of an instance: never a secret, sealed or not. */
function instanceView(instance: Instance) {
  return {
    id: instance.id,
    name: instance.name,
    clientId: instance.clientId,
    grantTypes: instance.grantTypes,
    redirectUris: instance.redirectUris,
    postLogoutRedirectUris: instance.postLogoutRedirectUris,
    backchannelLogoutUri: instance.backchannelLogoutUri,
    tokenEndpointAuthMethod: instance.tokenEndpointAuthMethod,
    skipConsent: instance.skipConsent,
    scopes: instance.scopes.split(' '),
    accessPolicy: instance.accessPolicy,
    ipAllowlist: instance.ipAllowlist,
    rateLimit: instance.rateLimit,
    createdAt: instance.createdAt,
  };
}
