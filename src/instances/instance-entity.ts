import { EntitySchema } from 'typeorm';
import { NAME_KEY_LENGTH } from './instance-name.js';

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt' | 'none';
export type AccessPolicy = 'open' | 'invite';
/** Who must sign in with a second factor to use an instance (src/mfa/mfa-policy.ts). */
export type MfaPolicy = 'off' | 'optional' | 'required' | 'required-for-admins';

/** A ChillFi3 server registered here: an OIDC client and the resource server its access tokens are for. */
export interface Instance {
  id: string;
  name: string;
  /** The name as compared for uniqueness (src/instances/instance-name.ts): never two instances of the same key. */
  nameKey: string;
  clientId: string;
  /** The client secret, encrypted with AUTH_SECRET_KEY (src/security/secret-box.ts). */
  secretEncrypted: string | null;
  /** The secret before the last rotation, accepted until previousSecretExpiresAt. */
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: Date | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  grantTypes: string[];
  scopes: string;
  tokenEndpointAuthMethod: TokenAuthMethod;
  /** Public keys (JWKS) for private_key_jwt client authentication. */
  jwks: { keys: Record<string, unknown>[] } | null;
  /** Where it publishes them instead, fetched by the provider with its guard against private addresses on. */
  jwksUri: string | null;
  ipAllowlist: string[];
  /** Requests per minute on client-authenticated endpoints; null: the server default. */
  rateLimit: number | null;
  accessPolicy: AccessPolicy;
  /** Second factors: `required` for everyone, `required-for-admins` for its admins; `off` and `optional` ask nobody. */
  mfa: MfaPolicy;
  /** First-party instance: users are not asked to consent. */
  skipConsent: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const InstanceEntity = new EntitySchema<Instance>({
  name: 'Instance',
  tableName: 'server_instances',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    name: { type: 'varchar', length: 100 },
    nameKey: { name: 'name_key', type: 'varchar', length: NAME_KEY_LENGTH, unique: true },
    clientId: { name: 'client_id', type: 'varchar', length: 64, unique: true },
    secretEncrypted: { name: 'secret_encrypted', type: 'text', nullable: true, select: false },
    previousSecretEncrypted: { name: 'previous_secret_encrypted', type: 'text', nullable: true, select: false },
    previousSecretExpiresAt: { name: 'previous_secret_expires_at', type: Date, nullable: true },
    redirectUris: { name: 'redirect_uris', type: 'simple-json' },
    postLogoutRedirectUris: { name: 'post_logout_redirect_uris', type: 'simple-json' },
    backchannelLogoutUri: { name: 'backchannel_logout_uri', type: 'varchar', length: 2048, nullable: true },
    grantTypes: { name: 'grant_types', type: 'simple-json' },
    scopes: { type: 'varchar', length: 1000 },
    tokenEndpointAuthMethod: { name: 'token_endpoint_auth_method', type: 'varchar', length: 40 },
    jwks: { type: 'simple-json', nullable: true },
    jwksUri: { name: 'jwks_uri', type: 'varchar', length: 2048, nullable: true },
    ipAllowlist: { name: 'ip_allowlist', type: 'simple-json' },
    rateLimit: { name: 'rate_limit', type: 'integer', nullable: true },
    accessPolicy: { name: 'access_policy', type: 'varchar', length: 10, default: 'open' },
    mfa: { type: 'varchar', length: 24, default: 'optional' },
    skipConsent: { name: 'skip_consent', type: Boolean, default: false },
    createdAt: { name: 'created_at', type: Date, createDate: true },
    updatedAt: { name: 'updated_at', type: Date, updateDate: true },
  },
});
