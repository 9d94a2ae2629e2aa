// The user API (the plan's POST /auth/register and /users/:id, with passwords and sessions): JSON in and out, errors
// as problem+json from the edge. Each handler settles who is calling (api-auth.ts) and what they may do
// (permissions.ts) before it reads a body, then calls the operations every way of asking shares (account-operations.ts,
// access-operations.ts, provider/account-sessions.ts). Documented by openapi.ts, served at /openapi.json.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Account } from '../accounts/account-entity.js';
import { AppError, BadRequest, NotFound } from '../errors.js';
import { USERS_READ_SCOPE } from '../instances/instance-store.js';
import type { AccountSessions } from '../provider/account-sessions.js';
import type { AccessOperations } from './access-operations.js';
import type { AccountOperations, Actor } from './account-operations.js';
import { apiAuthentication, apiCaller, insufficientScope, type ApiAuthDependencies } from './api-auth.js';
import { jsonInput } from './api-input.js';
import { refuseOtherMethods } from './method-not-allowed.js';
import { OPENAPI_PATH, openApiDocument } from './openapi.js';
import { decide, mayRegister, maySetLocalId, maySetPasswordWithoutCurrent, type UserAction, type Verdict } from './permissions.js';
import {
  AdminPasswordSet,
  LinkDelivery,
  LocalIdUpdate,
  OwnPasswordChange,
  passwordLink,
  passwordLinkMailed,
  PasswordChange,
  ProfileUpdate,
  RegisterRequest,
  session,
  userProfile,
} from './user-api-schemas.js';

export const REGISTER_PATH = '/auth/register';

export interface UserApiDependencies extends ApiAuthDependencies {
  accountOperations: AccountOperations;
  accessOperations: AccessOperations;
  accountSessions: AccountSessions;
  issuer: string;
}

/** Whether the caller asked for the set-password link by mail (`?deliver=mail`); 400 for anything but show or mail. */
function mailTheLink(ctx: Context): boolean {
  const parsed = LinkDelivery.safeParse({ deliver: ctx.query.deliver });
  if (!parsed.success) throw new BadRequest('deliver must be show or mail');
  return parsed.data.deliver === 'mail';
}

function actor(ctx: Context): Actor {
  return { accountId: apiCaller(ctx).account?.id ?? null, via: 'api', ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
}

/** Carries out a verdict of the rules: nothing when allowed, else the error that says so. */
function enforce(ctx: Context, verdict: Verdict): void {
  switch (verdict) {
    case 'allowed':
      return;
    case 'not_found':
      throw new NotFound('no such account');
    case 'forbidden':
      throw new AppError('forbidden', 'you may not do this to this account', { status: 403 });
    case 'insufficient_scope':
      throw insufficientScope(ctx, USERS_READ_SCOPE);
  }
}

export function userApiRoutes(deps: UserApiDependencies): Router {
  const router = new Router();
  const authenticate = apiAuthentication(deps);
  const document = openApiDocument(deps.issuer);

  /** The account the path names, once the rules (by default: decide `action`) let the caller act on it. */
  async function target(ctx: Context, action: UserAction | typeof maySetLocalId): Promise<Account> {
    const caller = apiCaller(ctx);
    const account = await deps.accounts.find((ctx.params as { id: string }).id);
    const onCallersInstance = account !== null && (await deps.instances.accessOf(caller.instance.id, account.id)) !== null;
    const facts = account && { id: account.id, onCallersInstance };
    enforce(ctx, typeof action === 'function' ? action(caller, facts) : decide(caller, action, facts));
    return account as Account;
  }

  router.get(OPENAPI_PATH, function serveOpenApi(ctx) {
    ctx.body = document;
  });

  // Answers about accounts are personal, and a set-password link is a secret: nothing is kept by caches.
  router.use(['/auth/register', '/users'], async function noStore(ctx, next) {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.post(REGISTER_PATH, authenticate, async function register(ctx) {
    const caller = apiCaller(ctx);
    enforce(ctx, mayRegister(caller));
    const mail = mailTheLink(ctx);
    const input = await jsonInput(ctx, RegisterRequest);
    const { account, passwordLink: link, mailedLink } = await deps.accountOperations.create(
      { username: input.username, password: input.password ?? null, displayName: input.displayName, email: input.email },
      actor(ctx),
      { mail },
    );
    await deps.accessOperations.grant(caller.instance.id, account.id, input.role ?? 'member', input.localUserId ?? null, actor(ctx));
    ctx.status = 201;
    ctx.set('Location', `/users/${encodeURIComponent(account.id)}`);
    ctx.body = {
      user: userProfile(account),
      ...(link ? { passwordLink: passwordLink(link) } : {}),
      ...(mailedLink ? { passwordLinkMailed: passwordLinkMailed(mailedLink) } : {}),
    };
  });

  router.get('/users/:id', authenticate, async function readUser(ctx) {
    ctx.body = userProfile(await target(ctx, 'read'));
  });

  router.put('/users/:id', authenticate, async function updateUser(ctx) {
    const account = await target(ctx, 'edit');
    const changes = await jsonInput(ctx, ProfileUpdate);
    ctx.body = userProfile(await deps.accountOperations.updateProfile(account.id, changes, actor(ctx)));
  });

  router.delete('/users/:id', authenticate, async function deleteUser(ctx) {
    const account = await target(ctx, 'delete');
    await deps.accountOperations.delete(account.id, actor(ctx));
    ctx.status = 204;
  });

  router.put('/users/:id/password', authenticate, async function changePassword(ctx) {
    const caller = apiCaller(ctx);
    const account = await target(ctx, 'password');
    const own = caller.account?.id === account.id;
    // The owner gives the current password; a caller with server power need not, and may give it only for their own.
    const schema = !maySetPasswordWithoutCurrent(caller) ? OwnPasswordChange : own ? PasswordChange : AdminPasswordSet;
    const input = await jsonInput(ctx, schema);
    if ('current' in input) {
      // The session the token was issued in stays: "sign out my other sessions".
      const keepSessionUid = caller.sid ? await deps.accountSessions.uidOfSid(account.id, caller.instance.clientId, caller.sid) : undefined;
      await deps.accountOperations.changeOwnPassword(account.id, input.current, input.password, { ...actor(ctx), keepSessionUid });
      ctx.status = 204;
    } else if (input.password === null) {
      ctx.body = mailTheLink(ctx)
        ? { passwordLinkMailed: passwordLinkMailed(await deps.accountOperations.clearPasswordAndMailLink(account.id, actor(ctx))) }
        : { passwordLink: passwordLink(await deps.accountOperations.clearPassword(account.id, actor(ctx))) };
    } else {
      await deps.accountOperations.setPassword(account.id, input.password, actor(ctx));
      ctx.status = 204;
    }
  });

  // A fresh link for the account's owner to set a password with; the password, if any, stays until the link is used.
  router.post('/users/:id/password-link', authenticate, async function issuePasswordLink(ctx) {
    const account = await target(ctx, 'password-link');
    ctx.body = mailTheLink(ctx)
      ? { passwordLinkMailed: passwordLinkMailed(await deps.accountOperations.mailPasswordLink(account.id, actor(ctx))) }
      : { passwordLink: passwordLink(await deps.accountOperations.issuePasswordLink(account.id, actor(ctx))) };
  });

  // The instance records the local row it made for a user at first sign-in: the user's next tokens carry its id.
  router.put('/users/:id/access/local-id', authenticate, async function recordLocalId(ctx) {
    const account = await target(ctx, maySetLocalId);
    const { localUserId } = await jsonInput(ctx, LocalIdUpdate);
    await deps.accessOperations.recordLocalId(apiCaller(ctx).instance.id, account.id, localUserId, actor(ctx));
    ctx.status = 204;
  });

  router.get('/users/:id/sessions', authenticate, async function listSessions(ctx) {
    const account = await target(ctx, 'sessions');
    ctx.body = { sessions: (await deps.accountSessions.list(account.id)).map(session) };
  });

  router.delete('/users/:id/sessions', authenticate, async function endSessions(ctx) {
    const account = await target(ctx, 'sessions');
    ctx.body = await deps.accountOperations.endSessions(account.id, 'all', actor(ctx));
  });

  router.delete('/users/:id/sessions/:uid', authenticate, async function endSession(ctx) {
    const account = await target(ctx, 'sessions');
    await deps.accountOperations.endSessions(account.id, { uid: (ctx.params as { uid: string }).uid }, actor(ctx));
    ctx.status = 204;
  });

  refuseOtherMethods(router);
  return router;
}
