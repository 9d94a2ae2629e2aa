// `chillfi3-auth instances ...`: ChillFi3 instances (OIDC clients) over their whole life, from a shell. Changes go
// through the same operations as the admin API's (src/admin/instance-operations.ts), audited alike.
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { BadRequest } from '../errors.js';
import { instanceView } from '../admin/admin-api-schemas.js';
import type { AccessPolicy, MfaPolicy, TokenAuthMethod } from '../instances/instance-entity.js';
import { MFA_POLICIES } from '../mfa/mfa-policy.js';
import {
  ADMIN_SCOPE,
  AUTH_METHODS,
  DEFAULT_SCOPES,
  GRANT_TYPES,
  INSTANCE_SCOPES,
  USERS_READ_SCOPE,
  type InstanceChanges,
  type InstanceJwks,
} from '../instances/instance-store.js';
import { type CliContext, OPERATOR } from './context.js';
import { addEnrolmentCommands } from './enrolment.js';
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
  jwksFile?: string;
  jwksUri?: string;
  mfa?: MfaPolicy;
}

interface UpdateInstanceOptions extends Omit<Partial<AddInstanceOptions>, 'ipAllow' | 'rateLimit'> {
  accessPolicy?: AccessPolicy;
  /** false: --no-ip-allow (any address). */
  ipAllow?: string[] | false;
  /** false: --no-rate-limit. */
  rateLimit?: number | false;
}

export function addInstancesCommand(program: Command, context: CliContext): void {
  const instances = program.command('instances').description('ChillFi3 instances (OIDC clients).');
  addEnrolmentCommands(instances, context);

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
    .option('--auth-method <method>', `how it authenticates to the server: ${AUTH_METHODS.join(', ')} (default: client_secret_basic)`)
    .option('--jwks-file <path>', 'a JSON file holding its public keys ({"keys": [...]}), for private_key_jwt')
    .option('--jwks-uri <uri>', 'or where it publishes them (fetched with the guard against private addresses on)')
    .option('--skip-consent', 'sign users in without asking their consent (a first-party instance)')
    .option(
      '--scopes <scopes>',
      `comma separated, among ${INSTANCE_SCOPES.join(', ')} (default: ${DEFAULT_SCOPES.split(' ').join(',')}); ` +
        `${USERS_READ_SCOPE} lets its own client_credentials tokens read its users' profiles, ` +
        `${ADMIN_SCOPE} lets its signed-in admins' tokens call the admin API`,
      commaList,
    )
    .option(
      '--ip-allow <cidr...>',
      'the only addresses it may call the token, introspection and revocation endpoints from',
    )
    .option('--rate-limit <n>', 'its requests per minute to those endpoints', wholeNumber('--rate-limit'))
    .addOption(new Option('--mfa <policy>', 'who must sign in with a second factor (default: optional)').choices(MFA_POLICIES))
    .action(printed(context.io, (options: AddInstanceOptions) => addInstance(context, options)));

  instances
    .command('show')
    .description('Show one instance: everything but its secret, and until when a rotated-out secret still works.')
    .argument('<instance>', 'id or client id')
    .action(
      printed(context.io, (name: string) =>
        context.withStores(async ({ instances }) => {
          const view = instanceView(await instanceNamed(instances, name));
          return { json: { instance: view }, lines: Object.entries(view).map(([key, value]) => `${key.padEnd(24)}${shown(value)}`) };
        }),
      ),
    );

  instances
    .command('update')
    .summary('Change an instance; the running server follows within 10 seconds.')
    .description(
      'Change an instance: only the options given change. A list option replaces the whole list. The server that ' +
        'runs it follows within 10 seconds (each node keeps what it read that long).',
    )
    .argument('<instance>', 'id or client id')
    .option('--name <name>', 'the name users see')
    .option('--redirect-uri <uri...>', 'where sign-in returns to')
    .option('--post-logout-redirect-uri <uri...>', 'where sign-out may return to')
    .option('--backchannel-logout-uri <uri>', 'where logout tokens go; "" removes it')
    .option('--grant-types <types>', `comma separated: ${GRANT_TYPES.join(', ')}`, commaList)
    .option('--auth-method <method>', AUTH_METHODS.join(', '))
    .option('--jwks-file <path>', 'a JSON file holding its public keys, for private_key_jwt')
    .option('--jwks-uri <uri>', 'or where it publishes them; "" removes it')
    .option('--skip-consent', 'sign users in without asking their consent')
    .option('--no-skip-consent', 'ask users for their consent')
    .option('--scopes <scopes>', `comma separated, among ${INSTANCE_SCOPES.join(', ')}`, commaList)
    .option('--ip-allow <cidr...>', 'the only addresses it may call the token endpoints from')
    .option('--no-ip-allow', 'any address may')
    .option('--rate-limit <n>', 'its requests per minute to the token endpoints', wholeNumber('--rate-limit'))
    .option('--no-rate-limit', 'no limit of its own')
    .addOption(new Option('--access-policy <policy>', 'who may sign in').choices(['open', 'invite']))
    .addOption(new Option('--mfa <policy>', 'who must sign in with a second factor').choices(MFA_POLICIES))
    .action(printed(context.io, (name: string, options: UpdateInstanceOptions) => updateInstance(context, name, options)));

  instances
    .command('rotate-secret')
    .summary('Give an instance a new client secret; the old one works for CLIENT_SECRET_GRACE_SECONDS more.')
    .description(
      'Give an instance a new client secret, printed once. The old one keeps working until CLIENT_SECRET_GRACE_SECONDS ' +
        '(default 24 h) from now: set the new one in the instance (AUTH_API_SECRET) and restart it before then.',
    )
    .argument('<instance>', 'id or client id')
    .action(
      printed(context.io, (name: string) =>
        context.withServices(async ({ instances, instanceOperations }) => {
          const rotated = await instanceOperations.rotateSecret((await instanceNamed(instances, name)).id, OPERATOR);
          const until = rotated.previousSecretExpiresAt?.toISOString() ?? null;
          return {
            json: { instance: instanceView(rotated.instance), clientSecret: rotated.clientSecret, previousSecretExpiresAt: until },
            lines: [
              `New client secret of "${rotated.instance.name}": ${rotated.clientSecret}`,
              'Store it now: it is shown only this once.',
              until === null
                ? 'The old secret stopped working now.'
                : `The old secret keeps working until ${until}: set AUTH_API_SECRET to the new one before then.`,
            ],
          };
        }),
      ),
    );

  instances
    .command('delete')
    .description(
      'Delete an instance: every user signed in to it is signed out of it (back-channel logout), its grants and tokens ' +
        'are revoked, its access links removed.',
    )
    .argument('<instance>', 'id or client id')
    .action(
      printed(context.io, (name: string) =>
        context.withServices(async ({ instances, instanceOperations }) => {
          const instance = await instanceNamed(instances, name);
          const ended = await instanceOperations.delete(instance.id, OPERATOR);
          return {
            json: { deleted: instance.id, ...ended },
            lines: [`Deleted "${instance.name}": ${ended.sessions} sign-ins ended, ${ended.grants} grants revoked.`],
          };
        }),
      ),
    );

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
  return context.withServices(async ({ config: { issuer }, instanceOperations }) => {
    const { instance, clientSecret } = await instanceOperations.create({
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
      jwks: options.jwksFile === undefined ? null : await jwksFrom(options.jwksFile),
      jwksUri: options.jwksUri ?? null,
      mfa: options.mfa,
    }, OPERATOR);
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

async function updateInstance(context: CliContext, name: string, options: UpdateInstanceOptions): Promise<Output> {
  const changes: InstanceChanges = {
    name: options.name,
    redirectUris: options.redirectUri,
    postLogoutRedirectUris: options.postLogoutRedirectUri,
    backchannelLogoutUri: options.backchannelLogoutUri === undefined ? undefined : options.backchannelLogoutUri || null,
    grantTypes: options.grantTypes,
    tokenEndpointAuthMethod: options.authMethod,
    jwks: options.jwksFile === undefined ? undefined : await jwksFrom(options.jwksFile),
    jwksUri: options.jwksUri === undefined ? undefined : options.jwksUri || null,
    skipConsent: options.skipConsent,
    scopes: options.scopes,
    ipAllowlist: options.ipAllow === false ? [] : options.ipAllow,
    rateLimit: options.rateLimit === false ? null : options.rateLimit,
    accessPolicy: options.accessPolicy,
    mfa: options.mfa,
  };
  const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as InstanceChanges;
  if (Object.keys(given).length === 0) throw new BadRequest('give at least one option to change');
  return context.withServices(async ({ instances, instanceOperations }) => {
    const { instance, clientSecret } = await instanceOperations.update((await instanceNamed(instances, name)).id, given, OPERATOR);
    const lines = [`Updated "${instance.name}": ${Object.keys(given).join(', ')}.`];
    if (clientSecret !== null) lines.push(`Its new client secret (shown only this once): ${clientSecret}`);
    return { json: { instance: instanceView(instance), clientSecret }, lines };
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

/** The public keys in a JSON file ({"keys": [...]}); the store checks them. */
async function jwksFrom(path: string): Promise<InstanceJwks> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as InstanceJwks;
  } catch (cause) {
    throw new BadRequest(`cannot read a JWKS from ${path}`, cause);
  }
}

function shown(value: unknown): string {
  if (value === null) return '-';
  if (Array.isArray(value)) return value.join(' ') || '-';
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

