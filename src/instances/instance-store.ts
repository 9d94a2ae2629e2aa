import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { In, type DataSource, type Repository } from 'typeorm';
import { isDuplicateKey } from '../db/duplicate-key.js';
import { isStorable } from '../db/storable.js';
import { BadRequest, Conflict, NotFound, quoted } from '../errors.js';
import { parseAllowlist } from '../security/ip-allowlist.js';
import type { SecretBox } from '../security/secret-box.js';
import { isMfaPolicy, MFA_POLICIES } from '../mfa/mfa-policy.js';
import { type AccessPolicy, type Instance, InstanceEntity, type MfaPolicy, type TokenAuthMethod } from './instance-entity.js';
import { type InstanceAccess, InstanceAccessEntity, type InstanceRole } from './instance-access-entity.js';
import { instanceNameKey, NAME_KEY_LENGTH } from './instance-name.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
] as const satisfies readonly TokenAuthMethod[];
export const DEFAULT_SCOPES = 'openid profile email offline_access';
/** An instance's own tokens (client_credentials) may read the profiles of its users (the user API, src/admin/). */
export const USERS_READ_SCOPE = 'users:read';
/**
 * A user's token from an instance allowed it may call the admin API (src/admin/admin-routes.ts), and does only when
 * that user is an admin of this server: a first-party console asks for it for its signed-in admins.
 */
export const ADMIN_SCOPE = 'admin';
/** Every scope an instance may be allowed: the default ones, and users:read or admin when an operator grants it. */
export const INSTANCE_SCOPES: readonly string[] = [...DEFAULT_SCOPES.split(' '), USERS_READ_SCOPE, ADMIN_SCOPE];
/** The auth methods that authenticate with the client secret. */
export const SECRET_METHODS: readonly TokenAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];
const SECRET_PURPOSE = 'client-secret';
/** How long a node reuses an instance it has read (see findWithSecret). */
const CACHE_TTL_MS = 10_000;

/** One page of access links: `limit` of them after the id `after`, or from `offset` on. */
export interface AccessPage {
  limit: number;
  offset?: number;
  after?: string;
}

export interface NewInstance {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  grantTypes?: string[];
  tokenEndpointAuthMethod?: TokenAuthMethod;
  skipConsent?: boolean;
  accessPolicy?: AccessPolicy;
  /** Who must sign in with a second factor here (src/mfa/mfa-policy.ts); `optional` when not given. */
  mfa?: MfaPolicy;
  /** Addresses (CIDR) allowed to call the token, introspection and revocation endpoints as this instance; empty: any. */
  ipAllowlist?: string[];
  /** Requests per minute on those endpoints; null: no limit of its own. */
  rateLimit?: number | null;
  /** The scopes it may ask for, among INSTANCE_SCOPES; DEFAULT_SCOPES when not given. */
  scopes?: string[];
  /** Its public keys, for private_key_jwt. */
  jwks?: InstanceJwks | null;
  /** Or where it publishes them (https, fetched with the guard against private addresses on). */
  jwksUri?: string | null;
}

/** What an update may change: any field of a new instance; the others stay. */
export type InstanceChanges = Partial<NewInstance>;

export type InstanceJwks = NonNullable<Instance['jwks']>;

/** An instance with its client secret in the clear: only in memory, only for the Client model and for display once. */
export interface InstanceWithSecret {
  instance: Instance;
  clientSecret: string | null;
  /** The secret before the last rotation while its grace lasts (checked against `expiresAt` at each use). */
  previousSecret: { secret: string; expiresAt: Date } | null;
}

/** A rotated secret: the new one, shown once, and until when the previous one keeps working (null: it stopped). */
export interface RotatedSecret {
  instance: Instance;
  clientSecret: string;
  previousSecretExpiresAt: Date | null;
}

/** What is wrong with a URI an instance registers ("is not an absolute URL"), or null: it is one. */
export function uriProblem(value: string): string | null {
  const url = URL.parse(value);
  if (!url) return 'is not an absolute URL';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
  if (url.hash) return 'must not have a fragment';
  return null;
}

function checkUri(value: string, what: string): string {
  const problem = uriProblem(value);
  if (problem) throw new BadRequest(`${what} ${quoted(value)} ${problem}`);
  return value;
}

function checkScopes(scopes: string[] | undefined, grantTypes: string[]): string {
  const checked = scopes?.length ? [...new Set(scopes)] : DEFAULT_SCOPES.split(' ');
  for (const scope of checked) if (!INSTANCE_SCOPES.includes(scope)) throw new BadRequest(`unsupported scope "${scope}"`);
  if (checked.includes(USERS_READ_SCOPE) && !grantTypes.includes('client_credentials')) {
    throw new BadRequest(`${USERS_READ_SCOPE} is for the instance's own tokens: it needs the client_credentials grant type`);
  }
  if (checked.includes(ADMIN_SCOPE) && !grantTypes.includes('authorization_code')) {
    throw new BadRequest(`${ADMIN_SCOPE} is for the tokens of signed-in users: it needs the authorization_code grant type`);
  }
  return checked.join(' ');
}

/** Members of a private JWK (RFC 7518 §6): an instance registers public keys only. */
const PRIVATE_KEY_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

function checkJwks(jwks: InstanceJwks | null, jwksUri: string | null, method: TokenAuthMethod): InstanceJwks | null {
  if (jwks !== null && jwksUri !== null) throw new BadRequest('give the public keys (jwks) or where they are (jwks_uri), not both');
  if (jwks !== null) {
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new BadRequest('jwks must hold at least one key');
    for (const key of jwks.keys) {
      if (typeof key.kty !== 'string') throw new BadRequest('every key in jwks needs a "kty"');
      if (PRIVATE_KEY_MEMBERS.some((member) => member in key)) throw new BadRequest('jwks must hold public keys only');
    }
  }
  if (method === 'private_key_jwt' && jwks === null && jwksUri === null) {
    throw new BadRequest("private_key_jwt needs the instance's public keys (jwks) or where they are (jwks_uri)");
  }
  return jwks;
}

function checkNewInstance(input: NewInstance): Omit<Required<NewInstance>, 'scopes'> & { scopes: string; nameKey: string } {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) throw new BadRequest('name must be 1 to 100 characters');
  const nameKey = instanceNameKey(name);
  if (nameKey.length < 1 || nameKey.length > NAME_KEY_LENGTH) throw new BadRequest('name must hold visible characters, and not too many once normalised');
  const grantTypes = input.grantTypes?.length ? [...new Set(input.grantTypes)] : ['authorization_code', 'refresh_token'];
  for (const grantType of grantTypes) {
    if (!(GRANT_TYPES as readonly string[]).includes(grantType)) throw new BadRequest(`unsupported grant type "${grantType}"`);
  }
  const tokenEndpointAuthMethod = input.tokenEndpointAuthMethod ?? 'client_secret_basic';
  if (!(AUTH_METHODS as readonly string[]).includes(tokenEndpointAuthMethod)) throw new BadRequest(`unsupported auth method "${tokenEndpointAuthMethod}"`);
  if (tokenEndpointAuthMethod === 'none' && grantTypes.includes('client_credentials')) {
    throw new BadRequest('client_credentials needs client authentication: pick an auth method other than "none"');
  }
  const redirectUris = input.redirectUris.map((uri) => checkUri(uri, 'redirect URI'));
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new BadRequest('an instance that signs users in needs at least one redirect URI');
  }
  return {
    name,
    nameKey,
    redirectUris,
    postLogoutRedirectUris: (input.postLogoutRedirectUris ?? []).map((uri) => checkUri(uri, 'post-logout redirect URI')),
    backchannelLogoutUri: input.backchannelLogoutUri ? checkUri(input.backchannelLogoutUri, 'back-channel logout URI') : null,
    grantTypes,
    tokenEndpointAuthMethod,
    skipConsent: input.skipConsent ?? false,
    accessPolicy: checkAccessPolicy(input.accessPolicy ?? 'open'),
    mfa: checkMfaPolicy(input.mfa ?? 'optional'),
    ipAllowlist: checkAllowlist(input.ipAllowlist ?? []),
    rateLimit: checkRateLimit(input.rateLimit ?? null),
    scopes: checkScopes(input.scopes, grantTypes),
    jwks: checkJwks(input.jwks ?? null, input.jwksUri ?? null, tokenEndpointAuthMethod),
    jwksUri: input.jwksUri ? checkUri(input.jwksUri, 'jwks_uri') : null,
  };
}

/** The fields of a stored instance as a NewInstance: for an update to check the whole result, for the trail to compare. */
export function instanceSettings(instance: Instance): Required<NewInstance> {
  return {
    name: instance.name,
    redirectUris: instance.redirectUris,
    postLogoutRedirectUris: instance.postLogoutRedirectUris,
    backchannelLogoutUri: instance.backchannelLogoutUri,
    grantTypes: instance.grantTypes,
    tokenEndpointAuthMethod: instance.tokenEndpointAuthMethod,
    skipConsent: instance.skipConsent,
    accessPolicy: instance.accessPolicy,
    mfa: instance.mfa,
    ipAllowlist: instance.ipAllowlist,
    rateLimit: instance.rateLimit,
    scopes: instance.scopes.split(' '),
    jwks: instance.jwks,
    jwksUri: instance.jwksUri,
  };
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function checkAllowlist(entries: string[]): string[] {
  parseAllowlist(entries);
  return entries.map((entry) => entry.trim());
}

/** Who may sign in: `invite` only accounts given access, `open` anyone (linked as a member at first sign-in). */
function checkAccessPolicy(accessPolicy: string): AccessPolicy {
  if (accessPolicy !== 'open' && accessPolicy !== 'invite') throw new BadRequest('access policy must be "open" or "invite"');
  return accessPolicy;
}

function checkMfaPolicy(mfa: string): MfaPolicy {
  if (!isMfaPolicy(mfa)) throw new BadRequest(`mfa must be one of ${MFA_POLICIES.map((policy) => `"${policy}"`).join(', ')}`);
  return mfa;
}

function checkRole(role: string): InstanceRole {
  if (role !== 'member' && role !== 'admin') throw new BadRequest('role must be "member" or "admin"');
  return role;
}

/** An access link's row, its role and local id checked, not yet written (the bulk import inserts many at once). */
export function accessRow(instanceId: string, accountId: string, role: InstanceRole, localUserId: number | null): Omit<InstanceAccess, 'createdAt'> {
  return { instanceId, accountId, role: checkRole(role), localUserId: checkLocalId(localUserId) };
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

/** Another instance has this name, as names compare (src/instances/instance-name.ts). */
export class InstanceNameTaken extends Conflict {
  constructor(name: string, holder: Instance | null) {
    super(`an instance named "${name}" exists already${holder ? ` (client id ${holder.clientId})` : ''}: pick another name`);
  }
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

  /**
   * Registers an instance; the returned secret is shown once and never stored in the clear. `given` is the client id
   * and secret the registration endpoint made (RFC 7591, through oidc-provider); else they are made here.
   */
  async create(input: NewInstance, given?: { clientId: string; clientSecret: string | null }): Promise<InstanceWithSecret> {
    const checked = await this.#checkJwksUri(checkNewInstance(input));
    const madeSecret = SECRET_METHODS.includes(checked.tokenEndpointAuthMethod) ? newSecret() : null;
    const clientSecret = given ? given.clientSecret : madeSecret;
    const instance = this.#instances.create({
      ...checked,
      id: uuidv7(),
      clientId: given?.clientId ?? randomBytes(16).toString('base64url'),
      secretEncrypted: clientSecret === null ? null : await this.secrets.seal(clientSecret, SECRET_PURPOSE),
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
    });
    await this.#uniquelyNamed(instance.nameKey, instance.id, () => this.#instances.save(instance));
    return { instance: await this.get(instance.id), clientSecret, previousSecret: null };
  }

  /**
   * Changes the given fields, checked as a whole with the rest as a new instance would be. An instance that moves to
   * a secret method without having a secret gets one: returned here, shown once (else clientSecret is null).
   */
  async update(id: string, changes: InstanceChanges): Promise<{ instance: Instance; clientSecret: string | null }> {
    const current = await this.#withSealedSecrets(id);
    const checked = await this.#checkJwksUri(checkNewInstance({ ...instanceSettings(current), ...changes }));
    const needsSecret = SECRET_METHODS.includes(checked.tokenEndpointAuthMethod) && current.secretEncrypted === null;
    const clientSecret = needsSecret ? newSecret() : null;
    if (clientSecret !== null) current.secretEncrypted = await this.secrets.seal(clientSecret, SECRET_PURPOSE);
    await this.#uniquelyNamed(checked.nameKey, id, () => this.#instances.save(this.#instances.merge(current, checked)));
    this.#byClientId.clear();
    return { instance: await this.get(id), clientSecret };
  }

  /**
   * A new client secret (shown once); the one it replaces keeps working for `graceSeconds` (0: not at all). A
   * previous secret still in its grace is dropped: only the last two secrets ever work.
   */
  async rotateSecret(id: string, graceSeconds: number): Promise<RotatedSecret> {
    const current = await this.#withSealedSecrets(id);
    if (!SECRET_METHODS.includes(current.tokenEndpointAuthMethod)) {
      throw new BadRequest(`an instance using ${current.tokenEndpointAuthMethod} has no client secret to rotate`);
    }
    const clientSecret = newSecret();
    const keepsPrevious = graceSeconds > 0 && current.secretEncrypted !== null;
    const previousSecretExpiresAt = keepsPrevious ? new Date(Date.now() + graceSeconds * 1000) : null;
    await this.#instances.update(
      { id },
      {
        secretEncrypted: await this.secrets.seal(clientSecret, SECRET_PURPOSE),
        previousSecretEncrypted: keepsPrevious ? current.secretEncrypted : null,
        previousSecretExpiresAt,
      },
    );
    this.#byClientId.clear();
    return { instance: await this.get(id), clientSecret, previousSecretExpiresAt };
  }

  /**
   * Removes the instance and its access links (the foreign key cascades). Its grants and tokens are the caller's to
   * revoke first (src/admin/instance-operations.ts); this node forgets it at once, others within CACHE_TTL_MS.
   */
  async delete(id: string): Promise<boolean> {
    if (!isStorable(id)) return false;
    const result = await this.#instances.delete({ id });
    this.#byClientId.clear();
    return result.affected === 1;
  }

  /**
   * Runs `write` unless another instance holds `nameKey`. The unique index on name_key decides between concurrent
   * writes of one name (exactly one succeeds, on any number of nodes); the look-up first only names the holder.
   */
  async #uniquelyNamed(nameKey: string, id: string, write: () => Promise<unknown>): Promise<void> {
    const taken = async () => {
      const holder = await this.#instances.findOneBy({ nameKey });
      return holder && holder.id !== id ? holder : null;
    };
    const before = await taken();
    if (before) throw new InstanceNameTaken(before.name, before);
    try {
      await write();
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const holder = await taken();
      throw new InstanceNameTaken(holder?.name ?? nameKey, holder);
    }
  }

  /**
   * The provider fetches a jwks_uri with its guard against private addresses, which outgoing-fetch.ts lifts for the
   * back-channel logout URIs an admin registered: a key set must never be fetched through that exemption.
   */
  async #checkJwksUri<T extends { jwksUri: string | null }>(checked: T): Promise<T> {
    if (checked.jwksUri !== null && (await this.isBackchannelLogoutUri(checked.jwksUri))) {
      throw new BadRequest('jwks_uri must not be a back-channel logout URI');
    }
    return checked;
  }

  async #withSealedSecrets(id: string): Promise<Instance> {
    const instance = isStorable(id)
      ? await this.#instances
          .createQueryBuilder('instance')
          .addSelect(['instance.secretEncrypted', 'instance.previousSecretEncrypted'])
          .where('instance.id = :id', { id })
          .getOne()
      : null;
    if (!instance) throw new NotFound(`instance ${id} not found`);
    return instance;
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
      .addSelect(['instance.secretEncrypted', 'instance.previousSecretEncrypted'])
      .where('instance.clientId = :clientId', { clientId })
      .getOne();
    if (!instance) return null;
    const clientSecret = instance.secretEncrypted ? await this.secrets.open(instance.secretEncrypted, SECRET_PURPOSE) : null;
    const { previousSecretEncrypted, previousSecretExpiresAt } = instance;
    const previousSecret =
      previousSecretEncrypted && previousSecretExpiresAt && previousSecretExpiresAt.getTime() > Date.now()
        ? { secret: await this.secrets.open(previousSecretEncrypted, SECRET_PURPOSE), expiresAt: previousSecretExpiresAt }
        : null;
    instance.secretEncrypted = null;
    instance.previousSecretEncrypted = null;
    return { instance, clientSecret, previousSecret };
  }

  /** Oldest first; with `page`, `limit` of them from `offset` on (the console pages its lists; the CLI and the API take them all). */
  list(page?: { limit: number; offset: number }): Promise<Instance[]> {
    return this.#instances.find({ order: { createdAt: 'ASC', id: 'ASC' }, ...(page ? { take: page.limit, skip: page.offset } : {}) });
  }

  /** The instances of these ids that exist, in no particular order. */
  findMany(ids: string[]): Promise<Instance[]> {
    const storable = ids.filter(isStorable);
    return storable.length === 0 ? Promise.resolve([]) : this.#instances.findBy({ id: In(storable) });
  }

  /** How many instances are registered, counted by the database. */
  count(): Promise<number> {
    return this.#instances.count();
  }

  async accessOf(instanceId: string, accountId: string): Promise<InstanceAccess | null> {
    if (!isStorable(instanceId) || !isStorable(accountId)) return null;
    return this.#access.findOneBy({ instanceId, accountId });
  }

  async grantAccess(instanceId: string, accountId: string, role: InstanceRole, localUserId: number | null = null): Promise<void> {
    await this.#access.upsert({ instanceId, accountId, role: checkRole(role), localUserId: checkLocalId(localUserId) }, ['instanceId', 'accountId']);
  }

  /** Who may sign in to the instance from now on (this node at once, the others within CACHE_TTL_MS). */
  async setAccessPolicy(id: string, accessPolicy: AccessPolicy): Promise<Instance> {
    await this.get(id);
    await this.#instances.update({ id }, { accessPolicy: checkAccessPolicy(accessPolicy) });
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

  /**
   * The links of one instance (by account id) or of one account (by instance id): the other side's id orders them, so
   * that a page is one range of the primary key (instance_id, account_id) or of the account index, however many
   * members an instance has. With `page`, `limit` of them after the id `after` (keyset: the last id of the page before)
   * or from `offset` on; all of them otherwise (internal uses that must see every link).
   */
  async listAccess(where: { instanceId: string } | { accountId: string }, page?: AccessPage): Promise<InstanceAccess[]> {
    if (!Object.values(where).every(isStorable)) return [];
    const side = 'instanceId' in where ? 'accountId' : 'instanceId';
    const query = this.#access
      .createQueryBuilder('access')
      .where(where)
      .orderBy(`access.${side}`, 'ASC');
    if (page?.after !== undefined) query.andWhere(`access.${side} > :after`, { after: page.after });
    if (page) query.offset(page.offset ?? 0).limit(page.limit);
    return query.getMany();
  }

  /** The link of the instance that holds this local id, if any (one instance's local ids are its users' rows). */
  holderOfLocalId(instanceId: string, localUserId: number): Promise<InstanceAccess | null> {
    if (!isStorable(instanceId)) return Promise.resolve(null);
    return this.#access.findOneBy({ instanceId, localUserId });
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
