// The OpenAPI 3.1 document of the user API and the admin API, served at /openapi.json. Its schemas are generated from
// the zod schemas that check the requests and shape the answers (src/admin/user-api-schemas.ts,
// src/admin/admin-api-schemas.ts); the paths are written out here. test/admin/user-api.test.ts and
// test/admin/admin-api.test.ts check every answer the APIs give in their tests against this document.
import { z } from 'zod';
import { AccessListQuery, AuditQueryParams, UserListQuery } from './admin-api-schemas.js';
import { BODY_LIMIT } from './api-input.js';
import { apiSchemas, LinkDelivery } from './user-api-schemas.js';

export const OPENAPI_PATH = '/openapi.json';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });

/** The problem+json answers, by status. */
const PROBLEMS = {
  400: 'Bad input: not JSON, an unknown field, a value of the wrong type, too long, or refused by a rule',
  401: 'No access token, or one that is not valid any more (WWW-Authenticate says which)',
  403: 'The caller may see the account but not do this, or its token lacks the scope needed (users:read; admin under /admin)',
  404: 'No such account, instance or unused enrolment token, or none the caller may see',
  409: 'The username or the instance name is taken, the local id belongs to another account of the instance, the account is the last enabled admin of this server, the key change does not fit the keys as they are, or a link was asked by mail from a server without mail (mail_not_configured) or for an account without an address (no_email)',
  413: `The body is larger than ${BODY_LIMIT}`,
  415: 'The body is not JSON',
  503: 'A store is unavailable: try again after Retry-After',
} as const;

type ProblemStatus = keyof typeof PROBLEMS;

function problems(...statuses: ProblemStatus[]) {
  return Object.fromEntries(
    [401, 503, ...statuses].map((status) => [
      status,
      { description: PROBLEMS[status as ProblemStatus], content: { 'application/problem+json': { schema: ref('Problem') } } },
    ]),
  );
}

const BODY_PROBLEMS: ProblemStatus[] = [400, 413, 415];

const userId = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: "the account's id (the tokens' `sub`)" };

/** `?deliver=show|mail` on every operation that makes a set-password link. */
const linkDelivery = () => queryParameters(LinkDelivery);

function body(name: string) {
  return { required: true, content: json(name) };
}

const instanceId = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: "the instance's id (not its client id)" };
const accountId = { name: 'accountId', in: 'path', required: true, schema: { type: 'string' }, description: "the account's id" };

/** Query parameters from a zod object of optional strings (every value is one). */
function queryParameters(schema: z.ZodObject) {
  const { properties = {} } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as { properties?: Record<string, { description?: string }> };
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: false, schema: property, description: property.description }));
}

/** The admin API's paths: every one needs an admin's token with scope admin (403 otherwise). */
function adminPaths() {
  return {
    '/admin/instances': {
      get: {
        operationId: 'listInstances',
        summary: 'List the instances',
        responses: { 200: { description: 'Every instance, oldest first', content: json('InstanceList') }, ...problems(403) },
      },
      post: {
        operationId: 'createInstance',
        summary: 'Register an instance; its client secret is shown once',
        requestBody: body('InstanceCreate'),
        responses: { 201: { description: 'Registered', content: json('InstanceWithSecret') }, ...problems(403, 409, ...BODY_PROBLEMS) },
      },
    },
    '/admin/instances/{id}': {
      parameters: [instanceId],
      get: {
        operationId: 'getInstance',
        summary: 'Read an instance',
        responses: { 200: { description: 'The instance', content: json('Instance') }, ...problems(403, 404) },
      },
      patch: {
        operationId: 'updateInstance',
        summary: 'Change an instance; in effect at once on this node, on every node within 10 seconds',
        requestBody: body('InstanceUpdate'),
        responses: { 200: { description: 'The instance as it now is', content: json('InstanceWithSecret') }, ...problems(403, 404, 409, ...BODY_PROBLEMS) },
      },
      delete: {
        operationId: 'deleteInstance',
        summary: 'Delete an instance: its users are signed out of it, its grants and tokens revoked, its access links removed',
        responses: { 200: { description: 'Deleted', content: json('InstanceDeleted') }, ...problems(403, 404) },
      },
    },
    '/admin/instances/{id}/secret': {
      parameters: [instanceId],
      post: {
        operationId: 'rotateInstanceSecret',
        summary: 'A new client secret, shown once; the old one works for CLIENT_SECRET_GRACE_SECONDS more',
        responses: { 200: { description: 'Rotated', content: json('RotatedSecret') }, ...problems(400, 403, 404) },
      },
    },
    '/admin/enrollment-tokens': {
      get: {
        operationId: 'listEnrollmentTokens',
        summary: 'The enrolment tokens that may still be used (never the tokens themselves)',
        responses: { 200: { description: 'Unused and unexpired, newest first', content: json('EnrollmentTokenList') }, ...problems(403) },
      },
      post: {
        operationId: 'issueEnrollmentToken',
        summary: 'A one-time token with which a new instance registers itself at the registration endpoint (RFC 7591); shown once',
        requestBody: body('EnrollmentTokenCreate'),
        responses: { 201: { description: 'Issued', content: json('EnrollmentTokenIssued') }, ...problems(403, ...BODY_PROBLEMS) },
      },
    },
    '/admin/enrollment-tokens/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: "the token's id (not the token)" }],
      delete: {
        operationId: 'withdrawEnrollmentToken',
        summary: 'Withdraw an unused enrolment token: no instance registers with it any more',
        responses: { 204: { description: 'Withdrawn' }, ...problems(403, 404) },
      },
    },
    '/admin/instances/{id}/access': {
      parameters: [instanceId],
      get: {
        operationId: 'listInstanceAccess',
        summary: 'Who has access to the instance, a page at a time (by account id)',
        parameters: queryParameters(AccessListQuery),
        responses: { 200: { description: 'One page of its access links', content: json('AccessList') }, ...problems(400, 403, 404) },
      },
    },
    '/admin/instances/{id}/access/{accountId}': {
      parameters: [instanceId, accountId],
      put: {
        operationId: 'grantAccess',
        summary: 'Give an account access to the instance, or change its role and local id',
        requestBody: body('AccessGrant'),
        responses: { 200: { description: 'The access link', content: json('Access') }, ...problems(403, 404, ...BODY_PROBLEMS) },
      },
      delete: {
        operationId: 'revokeAccess',
        summary: 'Take access away: the account is signed out of the instance and its grants there revoked',
        responses: { 204: { description: 'Revoked' }, ...problems(403, 404) },
      },
    },
    '/admin/users': {
      get: {
        operationId: 'listUsers',
        summary: 'List or search the accounts, a page at a time',
        parameters: queryParameters(UserListQuery),
        responses: { 200: { description: 'One page of the accounts, by username key', content: json('UserList') }, ...problems(400, 403) },
      },
      post: {
        operationId: 'createUser',
        summary: 'Create an account (an admin of this server with isAdmin)',
        requestBody: body('AdminUserCreate'),
        responses: { 201: { description: 'Created; the set-password link is shown once', content: json('Registered') }, ...problems(403, 409, ...BODY_PROBLEMS) },
      },
    },
    '/admin/users/{id}/access': {
      parameters: [userId],
      get: {
        operationId: 'listUserAccess',
        summary: 'The instances an account has access to, a page at a time (by instance id)',
        parameters: queryParameters(AccessListQuery),
        responses: { 200: { description: 'One page of its access links', content: json('AccessList') }, ...problems(400, 403, 404) },
      },
    },
    '/admin/users/{id}/sessions': {
      parameters: [userId],
      get: {
        operationId: 'adminListSessions',
        summary: "List an account's single sign-on sessions",
        responses: { 200: { description: 'The sessions', content: json('SessionList') }, ...problems(403, 404) },
      },
      delete: {
        operationId: 'adminEndSessions',
        summary: "End every session of an account, with back-channel logout to its instances",
        responses: { 200: { description: 'What ended', content: json('SessionsEnded') }, ...problems(403, 404) },
      },
    },
    '/admin/users/{id}/mfa': {
      parameters: [userId],
      get: {
        operationId: 'listSecondFactors',
        summary: "An account's second factors (kind, name, when added and last used) and how many recovery codes are left: never a secret",
        responses: { 200: { description: 'Its factors', content: json('SecondFactorList') }, ...problems(403, 404) },
      },
      delete: {
        operationId: 'resetSecondFactors',
        summary: "Reset an account's second factors: every factor and recovery code removed, its sessions ended; audited (mfa.reset)",
        responses: { 200: { description: 'What was removed and ended', content: json('SecondFactorsReset') }, ...problems(403, 404) },
      },
    },
    '/admin/keys': {
      get: {
        operationId: 'listSigningKeys',
        summary: 'The signing keys: next (published), active (signing), retiring (published until its tokens expire)',
        responses: { 200: { description: 'Every key, without private parts', content: json('SigningKeyList') }, ...problems(403) },
      },
    },
    '/admin/keys/rotation': {
      post: {
        operationId: 'rotateSigningKeys',
        summary: 'Stage a new key per algorithm: published now, signing after AUTH_KEY_PUBLISH_DELAY; every node follows',
        requestBody: body('KeyRotation'),
        responses: { 201: { description: 'The staged keys', content: json('SigningKeyList') }, ...problems(...BODY_PROBLEMS, 403, 404, 409) },
      },
    },
    '/admin/keys/{kid}': {
      parameters: [{ name: 'kid', in: 'path', required: true, schema: { type: 'string' }, description: "the key's id" }],
      delete: {
        operationId: 'retireSigningKey',
        summary: 'End a stage early: withdraw a next key, hand an active one over to the staged next key, remove a retiring one',
        responses: { 200: { description: 'What changed', content: json('KeyRetired') }, ...problems(403, 404, 409) },
      },
    },
    '/admin/audit': {
      get: {
        operationId: 'queryAudit',
        summary: 'The audit trail, newest first, a page at a time',
        parameters: queryParameters(AuditQueryParams),
        responses: { 200: { description: 'One page', content: json('AuditPage') }, ...problems(400, 403) },
      },
    },
  };
}

function components() {
  const { schemas } = z.toJSONSchema(apiSchemas, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` });
  // Each comes out as a document of its own ($schema, and an $id that is only a fragment): inside an OpenAPI 3.1
  // document they are components, in the document's default dialect (JSON Schema 2020-12).
  return Object.fromEntries(Object.entries(schemas).map(([name, { $schema: _dialect, $id: _id, ...schema }]) => [name, schema]));
}

export function openApiDocument(issuer: string) {
  return {
    openapi: '3.1.1',
    info: {
      title: 'chillfi3-auth user and admin API',
      version: '1',
      description:
        'Accounts of the ChillFi3 sign-in server. Every call carries an access token this server issued to an instance: a ' +
        "user's (authorization code flow) or the instance's own (client_credentials, scope users:read). Who may do what: " +
        'README.md, "User API"; "an admin" there is an admin of this server whose token carries scope admin, as the ' +
        'admin API under /admin needs (README.md, "Admin API").',
    },
    servers: [{ url: issuer }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: components(),
    },
    paths: {
      '/auth/register': {
        post: {
          operationId: 'register',
          summary: 'Register an account with access to the instance the token was issued to, as member or admin (admins of this server or of that instance)',
          parameters: linkDelivery(),
          requestBody: body('RegisterRequest'),
          responses: {
            201: { description: 'Registered; without a password, the set-password link is shown once or mailed (deliver=mail)', content: json('Registered') },
            ...problems(403, 409, ...BODY_PROBLEMS),
          },
        },
      },
      '/users/{id}': {
        parameters: [userId],
        get: {
          operationId: 'getUser',
          summary: 'Read a profile',
          responses: { 200: { description: 'The profile', content: json('UserProfile') }, ...problems(403, 404) },
        },
        put: {
          operationId: 'updateUser',
          summary: 'Change a profile (its owner, an admin)',
          requestBody: body('ProfileUpdate'),
          responses: { 200: { description: 'The profile as it now is', content: json('UserProfile') }, ...problems(403, 404, ...BODY_PROBLEMS) },
        },
        delete: {
          operationId: 'deleteUser',
          summary: 'Delete an account (admins): its sessions end and its instances are told first; never the last enabled admin',
          responses: { 204: { description: 'Deleted' }, ...problems(403, 404, 409) },
        },
      },
      '/users/{id}/password': {
        parameters: [userId],
        put: {
          operationId: 'changePassword',
          summary: 'Change the password: the owner with the current one, an admin without; null (admins) clears it',
          parameters: linkDelivery(),
          requestBody: body('PasswordChange'),
          responses: {
            200: { description: 'Cleared: the set-password link, shown once or mailed (deliver=mail)', content: json('PasswordCleared') },
            204: { description: 'Changed' },
            ...problems(403, 404, 409, ...BODY_PROBLEMS),
          },
        },
      },
      '/users/{id}/password-link': {
        parameters: [userId],
        post: {
          operationId: 'issuePasswordLink',
          summary: "Make a set-password link for the account's owner (admins; not for their own account): older links stop working, the password stays until it is used",
          parameters: linkDelivery(),
          responses: {
            200: { description: "The set-password link, shown once, or mailed to the account's address (deliver=mail)", content: json('PasswordLinkIssued') },
            ...problems(400, 403, 404, 409),
          },
        },
      },
      '/users/{id}/access/local-id': {
        parameters: [userId],
        put: {
          operationId: 'recordLocalId',
          summary: "Record the user's id in the instance's own database (the instance's own token, about its users)",
          requestBody: body('LocalIdUpdate'),
          responses: { 204: { description: 'Recorded: the next tokens for that instance carry it' }, ...problems(403, 404, 409, ...BODY_PROBLEMS) },
        },
      },
      '/users/{id}/sessions': {
        parameters: [userId],
        get: {
          operationId: 'listSessions',
          summary: 'List the single sign-on sessions (the owner, an admin)',
          responses: { 200: { description: 'The sessions', content: json('SessionList') }, ...problems(403, 404) },
        },
        delete: {
          operationId: 'endSessions',
          summary: 'End every session, with back-channel logout to its instances (the owner, an admin)',
          responses: { 200: { description: 'What ended', content: json('SessionsEnded') }, ...problems(403, 404) },
        },
      },
      '/users/{id}/sessions/{uid}': {
        parameters: [userId, { name: 'uid', in: 'path', required: true, schema: { type: 'string' }, description: "the session's uid" }],
        delete: {
          operationId: 'endSession',
          summary: 'End one session, with back-channel logout to its instances (the owner, an admin)',
          responses: { 204: { description: 'Ended' }, ...problems(403, 404) },
        },
      },
      ...adminPaths(),
    },
  };
}
