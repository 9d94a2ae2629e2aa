// The admin API's bodies and query strings, in and out, as zod schemas in the same registry as the user API's (one
// OpenAPI document, src/admin/openapi.ts, publishes both). Requests are strict; the instance and account stores check
// every value again, for the CLI as for the API.
import { z } from 'zod';
import { MAX_AUDIT_PAGE, type AuditPage } from '../audit/audit-log.js';
import type { InstanceAccess } from '../instances/instance-access-entity.js';
import type { Instance, MfaPolicy } from '../instances/instance-entity.js';
import { MFA_POLICIES } from '../mfa/mfa-policy.js';
import type { FactorSummary } from '../mfa/second-factors.js';
import type { EnrolmentToken } from '../instances/enrolment-token-entity.js';
import { MAX_ENROLMENT_TTL, MIN_ENROLMENT_TTL } from '../instances/enrolment-tokens.js';
import { AUTH_METHODS, GRANT_TYPES, INSTANCE_SCOPES } from '../instances/instance-store.js';
import type { EnrolmentTokenView } from './enrolment-operations.js';
import type { SigningKeySummary } from '../keys/key-store.js';
import { DEFAULT_ACCOUNT_PAGE as DEFAULT_LIST_PAGE, MAX_ACCOUNT_PAGE as MAX_LIST_PAGE } from '../accounts/account-store.js';
import { apiSchemas, RegisterRequest, UserProfile } from './user-api-schemas.js';

const uri = z.string().max(2048);
const uris = z.array(uri).max(50);

/** A public JWK: its members are the key type's (RFC 7517), which the store and the provider check. */
const PublicJwk = z.looseObject({ kty: z.string(), kid: z.string().optional(), alg: z.string().optional(), use: z.string().optional() });

const instanceFields = {
  name: z.string().min(1).max(100),
  redirectUris: uris.meta({ description: 'where sign-in returns to; needed with authorization_code' }),
  postLogoutRedirectUris: uris,
  backchannelLogoutUri: uri.nullable(),
  grantTypes: z.array(z.enum(GRANT_TYPES)).min(1),
  tokenEndpointAuthMethod: z.enum(AUTH_METHODS),
  scopes: z.array(z.enum(INSTANCE_SCOPES as [string, ...string[]])).min(1).meta({
    description: "users:read: its own tokens may read its users' profiles; admin: its users' tokens may carry admin",
  }),
  ipAllowlist: z.array(z.string().max(64)).max(100).meta({ description: 'CIDRs it may call the token endpoints from; empty: any' }),
  rateLimit: z.int().min(1).max(1_000_000).nullable().meta({ description: 'its requests per minute to the token endpoints; null: no limit of its own' }),
  accessPolicy: z.enum(['open', 'invite']),
  mfa: z.enum(MFA_POLICIES as [MfaPolicy, ...MfaPolicy[]]).meta({
    description: 'who must sign in with a second factor: required (everyone), required-for-admins (its admins); off and optional: nobody',
  }),
  skipConsent: z.boolean().meta({ description: 'first-party: users are not asked to consent' }),
  jwks: z.strictObject({ keys: z.array(PublicJwk).min(1).max(20) }).nullable().meta({ description: 'its public keys, for private_key_jwt' }),
  jwksUri: uri.nullable().meta({ description: 'or where it publishes them: fetched with the guard against private addresses on' }),
};

export const InstanceCreate = z.strictObject(instanceFields).partial().required({ name: true });
apiSchemas.add(InstanceCreate, { id: 'InstanceCreate', description: 'A new instance; the fields left out take their defaults' });

export const InstanceUpdate = z.strictObject(instanceFields).partial();
apiSchemas.add(InstanceUpdate, { id: 'InstanceUpdate', description: 'The fields to change; the others stay as they are' });

export const InstanceView = z.strictObject({
  ...instanceFields,
  id: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  rotationGraceEndsAt: z.iso.datetime().nullable().meta({ description: 'until when the secret before the last rotation works' }),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
apiSchemas.add(InstanceView, { id: 'Instance', description: 'A registered instance (an OIDC client); never its secret' });

export const InstanceList = z.strictObject({ instances: z.array(InstanceView) });
apiSchemas.add(InstanceList, { id: 'InstanceList' });

export const InstanceWithSecret = z.strictObject({
  instance: InstanceView,
  clientSecret: z.string().nullable().meta({ description: 'shown once, when the instance got a new one; else null' }),
});
apiSchemas.add(InstanceWithSecret, { id: 'InstanceWithSecret' });

export const RotatedSecret = z.strictObject({
  instance: InstanceView,
  clientSecret: z.string().meta({ description: 'the new secret, shown once' }),
  previousSecretExpiresAt: z.iso.datetime().nullable().meta({ description: 'the old secret works until then; null: not at all' }),
});
apiSchemas.add(RotatedSecret, { id: 'RotatedSecret' });

const enrolmentTerms = {
  name: z.string().min(1).max(100).nullable().meta({ description: 'the name the instance gets, whatever it asks for; null: its own' }),
  accessPolicy: z.enum(['open', 'invite']).meta({ description: 'who may sign in to the instance' }),
  allowAdmin: z.boolean().meta({ description: 'whether it may ask for the admin scope' }),
};

export const EnrolmentTokenCreate = z.strictObject({
  ttlSeconds: z.int().min(MIN_ENROLMENT_TTL).max(MAX_ENROLMENT_TTL).meta({ description: 'how long it works (default 3600)' }),
  ...enrolmentTerms,
}).partial();
apiSchemas.add(EnrolmentTokenCreate, { id: 'EnrollmentTokenCreate', description: "A new enrolment token's terms; the ones left out take their defaults" });

export const EnrolmentTokenIssued = z.strictObject({
  id: z.string(),
  token: z.string().meta({ description: 'shown once: what the new instance registers with (Authorization: Bearer)' }),
  expiresAt: z.iso.datetime(),
  registrationEndpoint: z.string().meta({ description: 'where it registers (RFC 7591)' }),
  ...enrolmentTerms,
});
apiSchemas.add(EnrolmentTokenIssued, { id: 'EnrollmentTokenIssued' });

export const EnrolmentTokenSummary = z.strictObject({ id: z.string(), expiresAt: z.iso.datetime(), createdAt: z.iso.datetime(), ...enrolmentTerms });
apiSchemas.add(EnrolmentTokenSummary, { id: 'EnrollmentToken', description: 'An enrolment token that may still be used; never the token itself' });

export const EnrolmentTokenList = z.strictObject({ enrollmentTokens: z.array(EnrolmentTokenSummary) });
apiSchemas.add(EnrolmentTokenList, { id: 'EnrollmentTokenList' });

export function enrolmentTokenIssuedView(issued: EnrolmentTokenView): z.infer<typeof EnrolmentTokenIssued> {
  return { ...issued, expiresAt: issued.expiresAt.toISOString() };
}

export function enrolmentTokenView(token: EnrolmentToken): z.infer<typeof EnrolmentTokenSummary> {
  return {
    id: token.id,
    expiresAt: token.expiresAt.toISOString(),
    createdAt: token.createdAt.toISOString(),
    name: token.name,
    accessPolicy: token.accessPolicy,
    allowAdmin: token.allowAdmin,
  };
}

export const InstanceDeleted = z.strictObject({ sessions: z.int().min(0), grants: z.int().min(0) });
apiSchemas.add(InstanceDeleted, { id: 'InstanceDeleted', description: 'How many sign-ins ended and grants were revoked with it' });

export const AccessView = z.strictObject({
  instanceId: z.string(),
  accountId: z.string(),
  role: z.enum(['member', 'admin']),
  localUserId: z.int().nullable(),
  createdAt: z.iso.datetime(),
});
apiSchemas.add(AccessView, { id: 'Access', description: "An account's access to an instance" });

const nextCursor = z.string().nullable().meta({ description: 'the cursor of the next page; null on the last' });

export const AccessList = z.strictObject({ access: z.array(AccessView), nextCursor });
apiSchemas.add(AccessList, { id: 'AccessList' });

export const AccessGrant = z.strictObject({
  role: z.enum(['member', 'admin']),
  localUserId: z.int().min(1).max(2_147_483_647).nullable().optional().meta({ description: "the user's id in the instance's own database" }),
});
apiSchemas.add(AccessGrant, { id: 'AccessGrant', description: 'Gives access, or changes the role and local id of an existing one' });

export const AdminUserCreate = RegisterRequest.omit({ localUserId: true }).extend({ isAdmin: z.boolean().optional() });
apiSchemas.add(AdminUserCreate, { id: 'AdminUserCreate', description: 'A new account, with access to no instance yet' });

export const UserList = z.strictObject({ users: z.array(UserProfile), nextCursor });
apiSchemas.add(UserList, { id: 'UserList' });

/** One page of a list: how many, and where it starts. */
const PageParams = {
  limit: z.coerce.number<string>().int().min(1).max(MAX_LIST_PAGE).optional().meta({ description: `entries per page (default ${DEFAULT_LIST_PAGE})` }),
  cursor: z.string().max(400).optional().meta({ description: 'the nextCursor of the page before' }),
};

export const UserListQuery = z.strictObject({
  search: z.string().max(200).optional().meta({ description: 'the start of the username, display name or email, any case' }),
  ...PageParams,
});

export const AccessListQuery = z.strictObject(PageParams);

const AuditEventView = z.strictObject({
  id: z.string(),
  at: z.iso.datetime(),
  action: z.string(),
  outcome: z.enum(['success', 'failure']),
  accountId: z.string().nullable(),
  instanceId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
});
apiSchemas.add(AuditEventView, { id: 'AuditEvent' });

export const AuditPageView = z.strictObject({
  events: z.array(AuditEventView).meta({ description: 'newest first' }),
  nextCursor: z.string().nullable().meta({ description: 'the cursor of the next (older) page; null on the last' }),
});
apiSchemas.add(AuditPageView, { id: 'AuditPage' });

/** The audit filters (AuditLog.query) as query parameters. */
export const AuditQueryParams = z.strictObject({
  accountId: z.string().max(36).optional(),
  instanceId: z.string().max(36).optional(),
  action: z.string().max(1000).optional().meta({ description: 'comma-separated action names; "token.*" is every action starting with "token."' }),
  outcome: z.enum(['success', 'failure']).optional(),
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'at or after' }),
  until: z.iso.datetime({ offset: true }).optional().meta({ description: 'strictly before' }),
  limit: z.coerce.number<string>().int().min(1).max(MAX_AUDIT_PAGE).optional(),
  cursor: z.string().max(200).optional().meta({ description: 'the nextCursor of the page before' }),
});

const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;

export const KeyView = z.strictObject({
  kid: z.string(),
  alg: z.enum(SIGNING_ALGORITHMS),
  state: z.enum(['next', 'active', 'retiring']).meta({ description: 'next: published, not signing yet; active: signs; retiring: published until its tokens expire' }),
  createdAt: z.iso.datetime(),
  activatedAt: z.iso.datetime().nullable(),
  retiredAt: z.iso.datetime().nullable(),
});
apiSchemas.add(KeyView, { id: 'SigningKey' });

export const KeyList = z.strictObject({ keys: z.array(KeyView) });
apiSchemas.add(KeyList, { id: 'SigningKeyList' });

export const KeyRotation = z.strictObject({
  alg: z.enum(SIGNING_ALGORITHMS).optional().meta({ description: 'only this algorithm; default: the access-token and ID-token algorithms' }),
});
apiSchemas.add(KeyRotation, { id: 'KeyRotation' });

export const KeyRetired = z.strictObject({
  removed: z.boolean().meta({ description: 'the key left the JWKS (a next or retiring key)' }),
  activated: z.string().nullable().meta({ description: 'the staged key that signs now in place of an active one' }),
});
apiSchemas.add(KeyRetired, { id: 'KeyRetired' });

export function keyView(key: SigningKeySummary): z.infer<typeof KeyView> {
  return {
    kid: key.kid,
    alg: key.alg as z.infer<typeof KeyView>['alg'],
    state: key.state,
    createdAt: key.createdAt.toISOString(),
    activatedAt: key.activatedAt?.toISOString() ?? null,
    retiredAt: key.retiredAt?.toISOString() ?? null,
  };
}

export function instanceView(instance: Instance): z.infer<typeof InstanceView> {
  return {
    id: instance.id,
    name: instance.name,
    clientId: instance.clientId,
    redirectUris: instance.redirectUris,
    postLogoutRedirectUris: instance.postLogoutRedirectUris,
    backchannelLogoutUri: instance.backchannelLogoutUri,
    grantTypes: instance.grantTypes as z.infer<typeof InstanceView>['grantTypes'],
    tokenEndpointAuthMethod: instance.tokenEndpointAuthMethod,
    scopes: instance.scopes.split(' '),
    ipAllowlist: instance.ipAllowlist,
    rateLimit: instance.rateLimit,
    accessPolicy: instance.accessPolicy,
    mfa: instance.mfa,
    skipConsent: instance.skipConsent,
    jwks: instance.jwks as z.infer<typeof InstanceView>['jwks'],
    jwksUri: instance.jwksUri,
    rotationGraceEndsAt: instance.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: instance.createdAt.toISOString(),
    updatedAt: instance.updatedAt.toISOString(),
  };
}

export function accessView(access: InstanceAccess): z.infer<typeof AccessView> {
  return { ...access, createdAt: access.createdAt.toISOString() };
}

export function auditPageView(page: AuditPage): z.infer<typeof AuditPageView> {
  return { events: page.events.map((event) => ({ ...event, at: event.at.toISOString() })), nextCursor: page.nextCursor };
}

export const SecondFactorView = z.strictObject({
  id: z.string(),
  kind: z.string().meta({ description: 'totp (authenticator app), passkey (a WebAuthn passkey); other kinds as the server registers them' }),
  name: z.string(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
});

export const SecondFactorList = z.strictObject({
  factors: z.array(SecondFactorView),
  recoveryCodesLeft: z.int().min(0).meta({ description: 'unused recovery codes (the codes themselves are never shown again)' }),
});
apiSchemas.add(SecondFactorList, { id: 'SecondFactorList', description: "An account's second factors: never their secrets" });

export const SecondFactorsReset = z.strictObject({
  removed: z.int().min(0).meta({ description: 'factors removed (recovery codes go too)' }),
  sessions: z.int().min(0),
  grants: z.int().min(0),
});
apiSchemas.add(SecondFactorsReset, { id: 'SecondFactorsReset', description: 'What a reset removed and the sessions it ended' });

export function secondFactorListView(summary: FactorSummary): z.infer<typeof SecondFactorList> {
  return {
    factors: summary.factors.map((factor) => ({
      ...factor,
      createdAt: factor.createdAt.toISOString(),
      lastUsedAt: factor.lastUsedAt?.toISOString() ?? null,
    })),
    recoveryCodesLeft: summary.recoveryCodesLeft,
  };
}
