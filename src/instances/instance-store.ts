import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { DataSource, Repository } from 'typeorm';
import { isStorable } from '../db/storable.js';
import { BadRequest, NotFound } from '../errors.js';
import { parseAllowlist } from '../security/ip-allowlist.js';
import type { SecretBox } from '../security/secret-box.js';
import { type AccessPolicy, type Instance, InstanceEntity, type TokenAuthMethod } from './instance-entity.js';
import { type InstanceAccess, InstanceAccessEntity, type InstanceRole } from './instance-access-entity.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const AUTH_METHODS: readonly TokenAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
];
export const DEFAULT_SCOPES = 'openid profile email offline_access';
/** An instance's own tokens (client_credentials) may read the profiles of its users (the user API, src/admin/). */
export const USERS_READ_SCOPE = 'users:read';
/** Every scope an instance may be allowed: the default ones, and users:read when an admin grants it. */
export const INSTANCE_SCOPES: readonly string[] = [...DEFAULT_SCOPES.split(' '), USERS_READ_SCOPE];
const SECRET_PURPOSE = 'client-secret';
/** How long a node reuses an instance it has read (see findWithSecret). */
const CACHE_TTL_MS = 10_000;

export interface NewInstance {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  grantTypes?: string[];
  tokenEndpointAuthMethod?: TokenAuthMethod;
  skipConsent?: boolean;
  accessPolicy?: AccessPolicy;
  /** Addresses (CIDR) allowed to call the token, introspection and revocation endpoints as this instance; empty: any. */
  ipAllowlist?: string[];
  /** Requests per minute on those endpoints; null: no limit of its own. */
  rateLimit?: number | null;
  /** The scopes it may ask for, among INSTANCE_SCOPES; DEFAULT_SCOPES when not given. */
  scopes?: string[];
}

/** An instance with its client secret in the clear: only in memory, only for the Client model and for display once. */
export interface InstanceWithSecret {
  instance: Instance;
  clientSecret: string | null;
}

function checkUri(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new BadRequest(`${what} "${value}" is not an absolute URL`, cause);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BadRequest(`${what} "${value}" must use http or https`);
  if (url.hash) throw new BadRequest(`${what} "${value}" must not have a fragment`);
  return value;
}

function checkScopes(scopes: string[] | undefined, grantTypes: string[]): string {
  const checked = scopes?.length ? [...new Set(scopes)] : DEFAULT_SCOPES.split(' ');
  for (const scope of checked) if (!INSTANCE_SCOPES.includes(scope)) throw new BadRequest(`unsupported scope "${scope}"`);
  if (checked.includes(USERS_READ_SCOPE) && !grantTypes.includes('client_credentials')) {
    throw new BadRequest(`${USERS_READ_SCOPE} is for the instance's own tokens: it needs the client_credentials grant type`);
  }
  return checked.join(' ');
}

function checkNewInstance(input: NewInstance): Omit<Required<NewInstance>, 'scopes'> & { scopes: string } {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) throw new BadRequest('name must be 1 to 100 characters');
  const grantTypes = input.grantTypes?.length ? [...new Set(input.grantTypes)] : ['authorization_code', 'refresh_token'];
  for (const grantType of grantTypes) {
    if (!(GRANT_TYPES as readonly string[]).includes(grantType)) throw new BadRequest(`unsupported grant type "${grantType}"`);
  }
  const tokenEndpointAuthMethod = input.tokenEndpointAuthMethod ?? 'client_secret_basic';
  if (!AUTH_METHODS.includes(tokenEndpointAuthMethod)) throw new BadRequest(`unsupported auth method "${tokenEndpointAuthMethod}"`);
  if (tokenEndpointAuthMethod === 'none' && grantTypes.includes('client_credentials')) {
    throw new BadRequest('client_credentials needs client authentication: pick an auth method other than "none"');
  }
  if (tokenEndpointAuthMethod === 'private_key_jwt') {
    throw new BadRequest('private_key_jwt needs the instance public keys: register with a secret method first');
  }
  const redirectUris = input.redirectUris.map((uri) => checkUri(uri, 'redirect URI'));
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new BadRequest('an instance that signs users in needs at least one redirect URI');
  }
  return {
    name,
    redirectUris,
    postLogoutRedirectUris: (input.postLogoutRedirectUris ?? []).map((uri) => checkUri(uri, 'post-logout redirect URI')),
    backchannelLogoutUri: input.backchannelLogoutUri ? checkUri(input.backchannelLogoutUri, 'back-channel logout URI') : null,
    grantTypes,
    tokenEndpointAuthMethod,
    skipConsent: input.skipConsent ?? false,
    accessPolicy: input.accessPolicy ?? 'open',
    ipAllowlist: checkAllowlist(input.ipAllowlist ?? []),
    rateLimit: checkRateLimit(input.rateLimit ?? null),
    scopes: checkScopes(input.scopes, grantTypes),
  };
}

function checkAllowlist(entries: string[]): string[] {
  parseAllowlist(entries);
  return entries.map((entry) => entry.trim());
}

function checkRole(role: string): InstanceRole {
  if (role !== 'member' && role !== 'admin') throw new BadRequest('role must be "member" or "admin"');
  return role;
}

/** ChillFi3's users.id: a positive INT. */
function checkLocalId(localUserId: number | null): number | null {
  if (localUserId !== null && (!Number.isInteger(localUserId) || localUserId < 1 || localUserId > 2_147_483_647)) {
    throw new BadRequest('the local user id must be a whole number from 1 to 2147483647');
  }
  return localUserId;
}

function checkRateLimit(rateLimit: number | null): number | null {
  if (rateLimit !== null && (!Number.isInteger(rateLimit) || rateLimit < 1 || rateLimit > 1_000_000)) {
    throw new BadRequest('rate limit must be a whole number of requests per minute, 1 to 1000000');
  }
  return rateLimit;
}

/** Registered instances (OIDC clients) and who may use them. Client secrets are sealed at rest. */
export class InstanceStore {
  readonly #instances: Repository<Instance>;
  readonly #access: Repository<InstanceAccess>;
  readonly #byClientId = new Map<string, { found: Promise<InstanceWithSecret | null>; expiresAt: number }>();

  constructor(
    dataSource: DataSource,
    private readonly secrets: SecretBox,
  ) {
    this.#instances = dataSource.getRepository(InstanceEntity);
    this.#access = dataSource.getRepository(InstanceAccessEntity);
  }

  /** Registers an instance; the returned secret is shown once and never stored in the clear. */
  async create(input: NewInstance): Promise<InstanceWithSecret> {
    const checked = checkNewInstance(input);
    const clientSecret = checked.tokenEndpointAuthMethod === 'none' ? null : randomBytes(32).toString('base64url');
    const instance = this.#instances.create({
      ...checked,
      id: uuidv7(),
      clientId: randomBytes(16).toString('base64url'),
      secretEncrypted: clientSecret === null ? null : await this.secrets.seal(clientSecret, SECRET_PURPOSE),
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
      jwks: null,
    });
    await this.#instances.save(instance);
    return { instance: await this.get(instance.id), clientSecret };
  }

  async get(id: string): Promise<Instance> {
    const instance = isStorable(id) ? await this.#instances.findOneBy({ id }) : null;
    if (!instance) throw new NotFound(`instance ${id} not found`);
    return instance;
  }

  async findByClientId(clientId: string): Promise<Instance | null> {
    return (await this.findWithSecret(clientId))?.instance ?? null;
  }

  /**
   * The instance with its secret opened, for the OIDC Client model and the per-request checks. Every request of an
   * instance needs it, so a node reads it at most once per CACHE_TTL_MS (concurrent callers share the read): a
   * change made elsewhere reaches every node within that time. Unknown client ids are not remembered, and one no
   * store can hold (src/db/storable.ts) is not looked up at all: it names no instance, and PostgreSQL would refuse it.
   */
  findWithSecret(clientId: string): Promise<InstanceWithSecret | null> {
    if (!isStorable(clientId)) return Promise.resolve(null);
    const cached = this.#byClientId.get(clientId);
    if (cached && cached.expiresAt > Date.now()) return cached.found;
    const found = this.#readWithSecret(clientId);
    this.#byClientId.set(clientId, { found, expiresAt: Date.now() + CACHE_TTL_MS });
    found.then(
      (result) => result === null && this.#byClientId.delete(clientId),
      () => this.#byClientId.delete(clientId),
    );
    return found;
  }

  async #readWithSecret(clientId: string): Promise<InstanceWithSecret | null> {
    const instance = await this.#instances
      .createQueryBuilder('instance')
      .addSelect('instance.secretEncrypted')
      .where('instance.clientId = :clientId', { clientId })
      .getOne();
    if (!instance) return null;
    const clientSecret = instance.secretEncrypted ? await this.secrets.open(instance.secretEncrypted, SECRET_PURPOSE) : null;
    instance.secretEncrypted = null;
    return { instance, clientSecret };
  }

  list(): Promise<Instance[]> {
    return this.#instances.find({ order: { createdAt: 'ASC' } });
  }

  async accessOf(instanceId: string, accountId: string): Promise<InstanceAccess | null> {
    if (!isStorable(instanceId) || !isStorable(accountId)) return null;
    return this.#access.findOneBy({ instanceId, accountId });
  }

  async grantAccess(instanceId: string, accountId: string, role: InstanceRole, localUserId: number | null = null): Promise<void> {
    await this.#access.upsert({ instanceId, accountId, role: checkRole(role), localUserId: checkLocalId(localUserId) }, ['instanceId', 'accountId']);
  }

  /** Who may sign in: `invite` only accounts given access, `open` anyone (linked as a member at first sign-in). */
  async setAccessPolicy(id: string, accessPolicy: AccessPolicy): Promise<Instance> {
    if (accessPolicy !== 'open' && accessPolicy !== 'invite') throw new BadRequest('access policy must be "open" or "invite"');
    await this.get(id);
    await this.#instances.update({ id }, { accessPolicy });
    this.#byClientId.clear();
    return this.get(id);
  }

  /** Links the account to the instance as a member unless it is linked already (an `open` instance's first sign-in). */
  async linkMember(instanceId: string, accountId: string): Promise<void> {
    await this.#access
      .createQueryBuilder()
      .insert()
      .values({ instanceId, accountId, role: 'member', localUserId: null })
      .orIgnore()
      .execute();
  }

  /** Changes the role or local id of an existing link; NotFound when the account has no access to the instance. */
  async updateAccess(instanceId: string, accountId: string, changes: { role?: InstanceRole; localUserId?: number | null }): Promise<InstanceAccess> {
    const access = await this.accessOf(instanceId, accountId);
    if (!access) throw new NotFound('this account has no access to this instance');
    await this.#access.update(
      { instanceId, accountId },
      {
        ...(changes.role === undefined ? {} : { role: checkRole(changes.role) }),
        ...(changes.localUserId === undefined ? {} : { localUserId: checkLocalId(changes.localUserId) }),
      },
    );
    return (await this.accessOf(instanceId, accountId)) as InstanceAccess;
  }

  /** Removes the link; false when there was none. */
  async revokeAccess(instanceId: string, accountId: string): Promise<boolean> {
    if (!(await this.accessOf(instanceId, accountId))) return false;
    const result = await this.#access.delete({ instanceId, accountId });
    return result.affected === 1;
  }

  /** The links of one instance or of one account, oldest first. */
  async listAccess(where: { instanceId: string } | { accountId: string }): Promise<InstanceAccess[]> {
    if (!Object.values(where).every(isStorable)) return [];
    return this.#access.find({ where, order: { createdAt: 'ASC' } });
  }

  /**
   * Whether `url` is the back-channel logout URI registered for some instance, compared as parsed URLs (the provider
   * sends to the normalized form of what was registered). It decides which outgoing requests may reach private
   * addresses (src/provider/outgoing-fetch.ts).
   */
  async isBackchannelLogoutUri(url: string): Promise<boolean> {
    const href = URL.parse(url)?.href;
    if (!href) return false;
    const registered = await this.#instances
      .createQueryBuilder('instance')
      .select('instance.backchannelLogoutUri', 'uri')
      .where('instance.backchannelLogoutUri IS NOT NULL')
      .getRawMany<{ uri: string }>();
    return registered.some(({ uri }) => URL.parse(uri)?.href === href);
  }
}
