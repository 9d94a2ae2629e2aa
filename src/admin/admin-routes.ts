// The admin API under /admin: instances over their whole life, accounts, access, sessions and the audit trail, for an
// admin of this server whose token carries the admin scope (permissions.ts, mayAdminister). JSON in and out, errors as
// problem+json from the edge, documented in the same OpenAPI document as the user API (openapi.ts). Every handler
// calls the operation the CLI calls too (instance-operations.ts, account-operations.ts, access-operations.ts,
// AuditLog.query): nothing is done here that another way in would do differently.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { z } from 'zod';
import type { Config } from '../../config/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import { DEFAULT_ACCOUNT_PAGE } from '../accounts/account-store.js';
import { decodeKeyCursor, keyPage } from '../db/key-cursor.js';
import { AppError, BadRequest } from '../errors.js';
import { ADMIN_SCOPE } from '../instances/instance-store.js';
import type { AccountSessions } from '../provider/account-sessions.js';
import type { AccessOperations } from './access-operations.js';
import type { AccountOperations, Actor } from './account-operations.js';
import {
  AccessGrant,
  AccessListQuery,
  accessView,
  AdminUserCreate,
  AuditQueryParams,
  auditPageView,
  EnrolmentTokenCreate,
  enrolmentTokenIssuedView,
  enrolmentTokenView,
  InstanceCreate,
  InstanceUpdate,
  instanceView,
  KeyRotation,
  keyView,
  secondFactorListView,
  UserListQuery,
} from './admin-api-schemas.js';
import { ACR_MFA } from '../mfa/assurance.js';
import { apiAuthentication, apiCaller, insufficientScope, insufficientUserAuthentication, type ApiAuthDependencies } from './api-auth.js';
import { jsonInput } from './api-input.js';
import type { EnrolmentOperations } from './enrolment-operations.js';
import type { InstanceOperations } from './instance-operations.js';
import type { KeyOperations } from './key-operations.js';
import type { MfaOperations } from './mfa-operations.js';
import { mayAdminister } from './permissions.js';
import { passwordLink, session, userProfile } from './user-api-schemas.js';
import { refuseOtherMethods } from './method-not-allowed.js';

export const ADMIN_PREFIX = '/admin';
const ADMIN_PATHS = [`${ADMIN_PREFIX}/instances`, `${ADMIN_PREFIX}/enrollment-tokens`, `${ADMIN_PREFIX}/users`, `${ADMIN_PREFIX}/audit`, `${ADMIN_PREFIX}/keys`];

export interface AdminApiDependencies extends ApiAuthDependencies {
  instanceOperations: InstanceOperations;
  enrolmentOperations: EnrolmentOperations;
  keyOperations: KeyOperations;
  config: Config;
  accountOperations: AccountOperations;
  accessOperations: AccessOperations;
  accountSessions: AccountSessions;
  mfaOperations: MfaOperations;
  audit: AuditLog;
}

function actor(ctx: Context): Actor {
  return { accountId: apiCaller(ctx).account?.id ?? null, via: 'api', ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
}

/** A route parameter (the router matched it, so it is there). */
export function param(ctx: Context, name: string): string {
  return (ctx.params as Record<string, string>)[name] as string;
}

/** The query string as `schema` reads it (every value a single string); 400 saying why otherwise. */
export function queryInput<T extends z.ZodType>(ctx: Context, schema: T): z.infer<T> {
  const result = schema.safeParse(ctx.query);
  if (!result.success) throw new BadRequest(result.error.issues.map(({ path, message }) => `${path.join('.')}: ${message}`).join('; '));
  return result.data;
}

export function adminApiRoutes(deps: AdminApiDependencies): Router {
  const router = new Router();
  const authenticate = apiAuthentication(deps);

  router.use(ADMIN_PATHS, authenticate, async function requireAdmin(ctx, next) {
    switch (mayAdminister(apiCaller(ctx))) {
      case 'insufficient_scope':
        throw insufficientScope(ctx, ADMIN_SCOPE);
      case 'forbidden':
        throw new AppError('forbidden', 'the admin API is for the admins of this server', { status: 403 });
      default:
        // MFA_REQUIRED_FOR_ADMINS: a token from a sign-in without a second factor (issued before the rule, or by an
        // instance that asked no admin scope at the sign-in) steps up first (RFC 9470).
        if (deps.config.mfaRequiredForAdmins && apiCaller(ctx).acr !== ACR_MFA) throw insufficientUserAuthentication(ctx, ACR_MFA);
        // Answers name accounts and carry secrets shown once: nothing is kept by caches.
        ctx.set('Cache-Control', 'no-store');
        return next();
    }
  });

  router.get(`${ADMIN_PREFIX}/instances`, async function listInstances(ctx) {
    ctx.body = { instances: (await deps.instances.list()).map(instanceView) };
  });

  router.post(`${ADMIN_PREFIX}/instances`, async function createInstance(ctx) {
    const input = await jsonInput(ctx, InstanceCreate);
    const { instance, clientSecret } = await deps.instanceOperations.create({ ...input, redirectUris: input.redirectUris ?? [] }, actor(ctx));
    ctx.status = 201;
    ctx.set('Location', `${ADMIN_PREFIX}/instances/${instance.id}`);
    ctx.body = { instance: instanceView(instance), clientSecret };
  });

  router.get(`${ADMIN_PREFIX}/instances/:id`, async function readInstance(ctx) {
    ctx.body = instanceView(await deps.instances.get(param(ctx, 'id')));
  });

  router.patch(`${ADMIN_PREFIX}/instances/:id`, async function updateInstance(ctx) {
    const instance = await deps.instances.get(param(ctx, 'id'));
    const changes = await jsonInput(ctx, InstanceUpdate);
    const updated = await deps.instanceOperations.update(instance.id, changes, actor(ctx));
    ctx.body = { instance: instanceView(updated.instance), clientSecret: updated.clientSecret };
  });

  router.delete(`${ADMIN_PREFIX}/instances/:id`, async function deleteInstance(ctx) {
    ctx.body = await deps.instanceOperations.delete(param(ctx, 'id'), actor(ctx));
  });

  router.post(`${ADMIN_PREFIX}/instances/:id/secret`, async function rotateSecret(ctx) {
    const rotated = await deps.instanceOperations.rotateSecret(param(ctx, 'id'), actor(ctx));
    ctx.body = {
      instance: instanceView(rotated.instance),
      clientSecret: rotated.clientSecret,
      previousSecretExpiresAt: rotated.previousSecretExpiresAt?.toISOString() ?? null,
    };
  });

  router.get(`${ADMIN_PREFIX}/enrollment-tokens`, async function listEnrolmentTokens(ctx) {
    ctx.body = { enrollmentTokens: (await deps.enrolmentOperations.listLive()).map(enrolmentTokenView) };
  });

  router.post(`${ADMIN_PREFIX}/enrollment-tokens`, async function issueEnrolmentToken(ctx) {
    const terms = await jsonInput(ctx, EnrolmentTokenCreate);
    ctx.status = 201;
    ctx.body = enrolmentTokenIssuedView(await deps.enrolmentOperations.issue(terms, actor(ctx)));
  });

  router.delete(`${ADMIN_PREFIX}/enrollment-tokens/:id`, async function withdrawEnrolmentToken(ctx) {
    await deps.enrolmentOperations.withdraw(param(ctx, 'id'), actor(ctx));
    ctx.status = 204;
  });

  router.get(`${ADMIN_PREFIX}/instances/:id/access`, async function listInstanceAccess(ctx) {
    const instance = await deps.instances.get(param(ctx, 'id'));
    ctx.body = await accessPage(ctx, { instanceId: instance.id });
  });

  router.put(`${ADMIN_PREFIX}/instances/:id/access/:accountId`, async function grantAccess(ctx) {
    const input = await jsonInput(ctx, AccessGrant);
    const access = await deps.accessOperations.grant(param(ctx, 'id'), param(ctx, 'accountId'), input.role, input.localUserId ?? null, actor(ctx));
    ctx.body = accessView(access);
  });

  router.delete(`${ADMIN_PREFIX}/instances/:id/access/:accountId`, async function revokeAccess(ctx) {
    await deps.accessOperations.revoke(param(ctx, 'id'), param(ctx, 'accountId'), actor(ctx));
    ctx.status = 204;
  });

  router.get(`${ADMIN_PREFIX}/users`, async function listUsers(ctx) {
    const { search, limit = DEFAULT_ACCOUNT_PAGE, cursor } = queryInput(ctx, UserListQuery);
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const { rows, nextCursor } = keyPage(await deps.accounts.list({ search, limit: limit + 1, after }), limit, (account) => account.usernameKey);
    ctx.body = { users: rows.map(userProfile), nextCursor };
  });

  router.post(`${ADMIN_PREFIX}/users`, async function createUser(ctx) {
    const input = await jsonInput(ctx, AdminUserCreate);
    const { account, passwordLink: link } = await deps.accountOperations.create({ ...input, password: input.password ?? null }, actor(ctx));
    ctx.status = 201;
    ctx.set('Location', `/users/${encodeURIComponent(account.id)}`);
    ctx.body = { user: userProfile(account), ...(link ? { passwordLink: passwordLink(link) } : {}) };
  });

  router.get(`${ADMIN_PREFIX}/users/:id/access`, async function listUserAccess(ctx) {
    const account = await deps.accounts.get(param(ctx, 'id'));
    ctx.body = await accessPage(ctx, { accountId: account.id });
  });

  router.get(`${ADMIN_PREFIX}/users/:id/sessions`, async function listUserSessions(ctx) {
    const account = await deps.accounts.get(param(ctx, 'id'));
    ctx.body = { sessions: (await deps.accountSessions.list(account.id)).map(session) };
  });

  router.delete(`${ADMIN_PREFIX}/users/:id/sessions`, async function endUserSessions(ctx) {
    const account = await deps.accounts.get(param(ctx, 'id'));
    ctx.body = await deps.accountOperations.endSessions(account.id, 'all', actor(ctx));
  });

  router.get(`${ADMIN_PREFIX}/users/:id/mfa`, async function listUserSecondFactors(ctx) {
    ctx.body = secondFactorListView(await deps.mfaOperations.list(param(ctx, 'id')));
  });

  router.delete(`${ADMIN_PREFIX}/users/:id/mfa`, async function resetUserSecondFactors(ctx) {
    ctx.body = await deps.mfaOperations.reset(param(ctx, 'id'), actor(ctx));
  });

  router.get(`${ADMIN_PREFIX}/audit`, async function queryAudit(ctx) {
    const { action, since, until, ...filter } = queryInput(ctx, AuditQueryParams);
    const page = await deps.audit.query({
      ...filter,
      actions: action?.split(',').map((name) => name.trim()).filter(Boolean),
      since: since === undefined ? undefined : new Date(since),
      until: until === undefined ? undefined : new Date(until),
    });
    ctx.body = auditPageView(page);
  });

  router.get(`${ADMIN_PREFIX}/keys`, async function listKeys(ctx) {
    ctx.body = { keys: (await deps.keyOperations.list()).map(keyView) };
  });

  router.post(`${ADMIN_PREFIX}/keys/rotation`, async function rotateKeys(ctx) {
    const { alg } = await jsonInput(ctx, KeyRotation);
    const algorithms = alg ? [alg] : [deps.config.algorithms.accessToken, deps.config.algorithms.idToken];
    ctx.status = 201;
    ctx.body = { keys: (await deps.keyOperations.rotate(algorithms, actor(ctx))).map(keyView) };
  });

  router.delete(`${ADMIN_PREFIX}/keys/:kid`, async function retireKey(ctx) {
    ctx.body = await deps.keyOperations.retire(param(ctx, 'kid'), actor(ctx));
  });

  /** One page of access links of an instance (by account id) or of an account (by instance id). */
  async function accessPage(ctx: Context, where: { instanceId: string } | { accountId: string }) {
    const { limit = DEFAULT_ACCOUNT_PAGE, cursor } = queryInput(ctx, AccessListQuery);
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const found = await deps.accessOperations.list(where, { limit: limit + 1, after });
    const { rows, nextCursor } = keyPage(found, limit, (access) => ('instanceId' in where ? access.accountId : access.instanceId));
    return { access: rows.map(accessView), nextCursor };
  }

  refuseOtherMethods(router);
  return router;
}
