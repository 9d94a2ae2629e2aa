// The user API's OpenAPI 3.1 document, served at /openapi.json. Its schemas are generated from the zod schemas that
// check the requests and shape the answers (src/admin/user-api-schemas.ts); the paths are written out here.
// test/admin/user-api.test.ts checks every answer the API gives in its tests against this document.
import { z } from 'zod';
import { BODY_LIMIT } from './api-input.js';
import { apiSchemas } from './user-api-schemas.js';

export const OPENAPI_PATH = '/openapi.json';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });

/** The problem+json answers, by status. */
const PROBLEMS = {
  400: 'Bad input: not JSON, an unknown field, a value of the wrong type, too long, or refused by a rule',
  401: 'No access token, or one that is not valid any more (WWW-Authenticate says which)',
  403: 'The caller may see the account but not do this, or its token lacks scope users:read',
  404: 'No such account, or none the caller may see',
  409: 'The username is taken',
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

function body(name: string) {
  return { required: true, content: json(name) };
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
      title: 'chillfi3-auth user API',
      version: '1',
      description:
        'Accounts of the ChillFi3 sign-in server. Every call carries an access token this server issued to an instance: a ' +
        "user's (authorization code flow) or the instance's own (client_credentials, scope users:read). Who may do what: " +
        'README.md, "User API".',
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
          summary: 'Register an account (admins; an instance admin gives it access to that instance)',
          requestBody: body('RegisterRequest'),
          responses: {
            201: { description: 'Registered; the set-password link is shown once', content: json('Registered') },
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
          summary: 'Delete an account (admins): its sessions end and its instances are told first',
          responses: { 204: { description: 'Deleted' }, ...problems(403, 404) },
        },
      },
      '/users/{id}/password': {
        parameters: [userId],
        put: {
          operationId: 'changePassword',
          summary: 'Change the password: the owner with the current one, an admin without; null (admins) clears it',
          requestBody: body('PasswordChange'),
          responses: {
            200: { description: 'Cleared: the set-password link, shown once', content: json('PasswordCleared') },
            204: { description: 'Changed' },
            ...problems(403, 404, ...BODY_PROBLEMS),
          },
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
    },
  };
}
