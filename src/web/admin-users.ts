// The console's users pages: find, create and look after accounts, and end their sessions. Every action is the
// operation the CLI and the admin API call (src/admin/account-operations.ts), with the same zod schemas checking the
// input; what differs is only the shape: forms in, a page or a redirect with a notice out. A set-password link is shown
// on a page of its own that the POST redirects to (src/web/one-time-results.ts): a reload shows it again, never
// makes another.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Account } from '../accounts/account-entity.js';
import type { PasswordLinkView } from '../admin/account-operations.js';
import { AdminUserCreate, UserListQuery } from '../admin/admin-api-schemas.js';
import { param, queryInput } from '../admin/admin-routes.js';
import { ProfileUpdate } from '../admin/user-api-schemas.js';
import { BadRequest, NotFound } from '../errors.js';
import { CONSOLE_CLIENT_ID } from '../provider/console-client.js';
import type { Services } from '../services.js';
import { instancePath, memberPath, userPath, USERS_PATH } from './console-paths.js';
import { renderPage } from './page.js';
import { PROFILE_LIMITS } from '../accounts/account-store.js';
import type { Viewer, WebGuards } from './web-session.js';
import { doneThen } from './console-actions.js';
import { accountFieldOf, blankAsNull, formFields, type FormErrors, formProblem, hasFormErrors, inFormWords, inputProblems, NO_FORM_ERRORS, profileFormProblems, webActor } from './form-input.js';
import { OneTimeResults, renderShownOnce, RESULT_SECONDS } from './one-time-results.js';

/** Users per page of the list. */
export const USERS_PAGE_SIZE = 25;

const UsersPageQuery = UserListQuery.extend({ page: z.coerce.number<string>().int().min(1).max(1_000_000).optional() });

/**
 * How many instances the user page's grant form offers; past that many, access is given from the instance's own page
 * (by username), so the page never reads every instance.
 */
const GRANT_CHOICES = 100;

/** What the user page needs besides the account: the forms' values and a message when one was refused. */
export interface UserPageExtras {
  profile?: Record<string, string>;
  profileErrors?: FormErrors;
  grant?: Record<string, string>;
  /** The row of the access table as the admin typed it, when its change was refused. */
  accessEdit?: { instanceId: string; role: string; localUserId: string };
  /** What was refused of the grant form or of the row in accessEdit. */
  accessErrors?: FormErrors;
}

function isLocked(account: Account): boolean {
  return account.lockedUntil !== null && account.lockedUntil.getTime() > Date.now();
}

function profileValues(account: Account): Record<string, string> {
  return { displayName: account.displayName ?? '', email: account.email ?? '', bio: account.bio ?? '', picture: account.picture ?? '' };
}

/**
 * The user page: profile, status and its actions, the instances the account may use, and its sessions with the
 * instances signed in through each. Also rendered by the access pages when a grant from it is refused.
 */
export async function renderUserPage(ctx: Context, services: Services, account: Account, extras: UserPageExtras = {}, status = 200): Promise<void> {
  const [access, sessions, choices, hasPassword, secondFactors] = await Promise.all([
    services.accessOperations.list({ accountId: account.id }),
    services.accountSessions.list(account.id),
    services.instances.list({ limit: GRANT_CHOICES + 1, offset: 0 }),
    services.accounts.hasPassword(account.id),
    services.secondFactors.summary(account.id),
  ]);
  const signedIn = new Set(sessions.flatMap((session) => session.clientIds));
  const named = await services.instances.findMany(access.map((link) => link.instanceId));
  const byId = new Map(named.map((instance) => [instance.id, instance]));
  const byClientId = new Map(
    await Promise.all([...signedIn].map(async (clientId) => [clientId, await services.instances.findByClientId(clientId)] as const)),
  );
  const viewer = ctx.state.viewer as Viewer;
  await renderPage(
    ctx,
    'admin-users-show',
    {
      title: account.username,
      account,
      self: account.id === viewer.account.id,
      locked: isLocked(account),
      hasPassword,
      secondFactors,
      userUrl: userPath(account.id),
      usersUrl: USERS_PATH,
      profile: extras.profile ?? profileValues(account),
      profileErrors: extras.profileErrors ?? NO_FORM_ERRORS,
      limits: PROFILE_LIMITS,
      access: access.map((link) => {
        const edited = extras.accessEdit?.instanceId === link.instanceId ? extras.accessEdit : null;
        return {
          ...link,
          instanceName: byId.get(link.instanceId)?.name ?? link.instanceId,
          instanceClientId: byId.get(link.instanceId)?.clientId ?? null,
          instanceUrl: instancePath(link.instanceId),
          url: memberPath(link.instanceId, account.id),
          role: edited?.role ?? link.role,
          localUserId: edited ? edited.localUserId : (link.localUserId?.toString() ?? ''),
        };
      }),
      grantable: choices.slice(0, GRANT_CHOICES).filter((instance) => !byId.has(instance.id)),
      moreInstances: choices.length > GRANT_CHOICES,
      grant: extras.grant ?? { instanceId: '', role: 'member', localUserId: '' },
      accessErrors: extras.accessErrors ?? NO_FORM_ERRORS,
      accessEditId: extras.accessEdit?.instanceId ?? null,
      grantUrl: `${userPath(account.id)}/access`,
      sessions: sessions.map((session) => ({
        ...session,
        current: session.uid === viewer.sessionUid,
        instances: session.clientIds.map((clientId) => {
          if (clientId === CONSOLE_CLIENT_ID) return 'This server’s own pages';
          const instance = byClientId.get(clientId);
          // The client id beside the name: names alone can look alike.
          return instance ? `${instance.name} (${clientId})` : clientId;
        }),
      })),
    },
    status,
  );
}

/** What the link page shows, kept between the POST that made the link and the page (one-time-results.ts). */
interface ShownLink {
  heading: string;
  url: string;
  /** ISO time. */
  expiresAt: string;
}

/** Where the set-password link an action made is shown, under the result's id. */
function shownLinkPath(accountId: string, resultId: string): string {
  return `${userPath(accountId)}/password-link/${encodeURIComponent(resultId)}`;
}

function createValues(fields: Record<string, string>): Record<string, string> {
  return { username: fields.username ?? '', displayName: fields.displayName ?? '', email: fields.email ?? '', isAdmin: fields.isAdmin ?? '' };
}

export function adminUserPages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { accounts, accountOperations } = services;
  const page = [guards.signedIn, guards.admin, guards.csrf];
  const action = [guards.signedIn, guards.admin, guards.form, guards.csrf];
  // What hands out a way into an account (a set-password link, a new account, admin rights) needs the password as
  // recently as deleting does: otherwise whoever finds a console left open could make themselves a way in, sign in
  // through it, and so pass every fresh sign-in.
  const freshPage = [guards.signedIn, guards.admin, guards.fresh, guards.csrf];
  const freshAction = [guards.signedIn, guards.admin, guards.fresh, guards.form, guards.csrf];
  const results = new OneTimeResults(services.oidcStore, services.secrets);
  router.use(function usersSection(ctx, next) {
    ctx.state.nav = 'users';
    return next();
  });

  async function accountOf(ctx: Context): Promise<Account> {
    return accounts.get(param(ctx, 'id'));
  }

  /** The console refuses an admin locking themself out; the CLI can still do it on purpose. */
  function notSelf(ctx: Context, account: Account, what: string): void {
    const viewer = ctx.state.viewer as Viewer;
    if (account.id === viewer.account.id) throw new BadRequest(`you cannot ${what} your own account here: ask another admin`);
  }

  /** Ends an action that made a link: kept for its page (one-time-results.ts), the browser sent there with 303. */
  async function showLink(ctx: Context, account: Account, link: PasswordLinkView, heading: string): Promise<void> {
    const shown: ShownLink = { heading, url: link.url, expiresAt: link.expiresAt.toISOString() };
    const resultId = await results.keep(ctx.state.viewer as Viewer, `account:${account.id}`, shown);
    ctx.status = 303;
    ctx.redirect(shownLinkPath(account.id, resultId));
  }

  /** The confirmation step of a destructive action (views/web/partials/confirm.ejs): what will happen, then Cancel or go. */
  function confirm(ctx: Context, account: Account, step: { title: string; consequences: string[]; action: string; confirmLabel: string }): Promise<void> {
    return renderPage(ctx, 'admin-users-confirm', { ...step, account, cancelUrl: userPath(account.id) });
  }

  router.get(USERS_PATH, ...page, async function listUsers(ctx) {
    const { search = '', page: pageNumber = 1 } = queryInput(ctx, UsersPageQuery);
    const found = await accounts.list({ search, limit: USERS_PAGE_SIZE + 1, offset: (pageNumber - 1) * USERS_PAGE_SIZE });
    const pageUrl = (n: number) => `${USERS_PATH}?${new URLSearchParams({ ...(search ? { search } : {}), page: String(n) })}`;
    await renderPage(ctx, 'admin-users', {
      title: 'Users',
      search,
      usersUrl: USERS_PATH,
      users: found.slice(0, USERS_PAGE_SIZE).map((account) => ({ ...account, url: userPath(account.id), locked: isLocked(account) })),
      pageNumber,
      previousUrl: pageNumber > 1 ? pageUrl(pageNumber - 1) : null,
      nextUrl: found.length > USERS_PAGE_SIZE ? pageUrl(pageNumber + 1) : null,
      newUrl: `${USERS_PATH}/new`,
    });
  });

  router.get(`${USERS_PATH}/new`, ...freshPage, async function newUserForm(ctx) {
    await renderPage(ctx, 'admin-users-new', { title: 'New user', values: createValues({}), errors: NO_FORM_ERRORS, action: USERS_PATH, cancelUrl: USERS_PATH });
  });

  router.post(USERS_PATH, ...freshAction, async function createUser(ctx) {
    const fields = formFields(ctx);
    const refuse = (errors: FormErrors, status: number) =>
      renderPage(ctx, 'admin-users-new', { title: 'New user', values: createValues(fields), errors, action: USERS_PATH, cancelUrl: USERS_PATH }, status);
    const input = AdminUserCreate.safeParse(
      {
        username: fields.username ?? '',
        password: fields.password || undefined,
        displayName: fields.displayName || undefined,
        email: fields.email || undefined,
        isAdmin: fields.isAdmin === 'on',
      },
      { error: inFormWords },
    );
    if (!input.success) return refuse(inputProblems(input.error), 400);
    let created;
    try {
      created = await accountOperations.create({ ...input.data, password: input.data.password ?? null }, webActor(ctx));
    } catch (error) {
      const problem = formProblem(error, accountFieldOf);
      if (!problem) throw error;
      return refuse(problem.errors, problem.status);
    }
    const { account, passwordLink } = created;
    if (!passwordLink) return doneThen(ctx, userPath(account.id), `User ${account.username} created.`);
    await showLink(ctx, account, passwordLink, `User ${account.username} created`);
  });

  router.get(`${USERS_PATH}/:id`, ...page, async function showUser(ctx) {
    await renderUserPage(ctx, services, await accountOf(ctx));
  });

  router.post(`${USERS_PATH}/:id/profile`, ...action, async function updateProfile(ctx) {
    const account = await accountOf(ctx);
    const fields = formFields(ctx);
    const profile = { displayName: fields.displayName ?? '', email: fields.email ?? '', bio: fields.bio ?? '', picture: fields.picture ?? '' };
    const typed = blankAsNull(profile);
    const input = ProfileUpdate.safeParse(typed, { error: inFormWords });
    const problems = profileFormProblems(input, typed);
    if (!input.success || hasFormErrors(problems)) return renderUserPage(ctx, services, account, { profile, profileErrors: problems }, 400);
    try {
      await accountOperations.updateProfile(account.id, input.data, webActor(ctx));
    } catch (error) {
      const problem = formProblem(error, accountFieldOf);
      if (!problem) throw error;
      return renderUserPage(ctx, services, account, { profile, profileErrors: problem.errors }, problem.status);
    }
    doneThen(ctx, userPath(account.id), 'Profile saved.');
  });

  router.get(`${USERS_PATH}/:id/disable`, ...page, async function confirmDisable(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'disable');
    await confirm(ctx, account, {
      title: `Disable ${account.username}`,
      consequences: [
        `${account.username} cannot sign in any more.`,
        'Every session ends now, and every instance signed in through one is told to sign them out.',
        'You can enable the account again later.',
      ],
      action: `${userPath(account.id)}/disable`,
      confirmLabel: 'Disable account',
    });
  });

  router.post(`${USERS_PATH}/:id/disable`, ...action, async function disableUser(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'disable');
    await accountOperations.disable(account.id, webActor(ctx));
    doneThen(ctx, userPath(account.id), `${account.username} is disabled and signed out everywhere.`);
  });

  router.post(`${USERS_PATH}/:id/enable`, ...action, async function enableUser(ctx) {
    const account = await accountOf(ctx);
    await accountOperations.enable(account.id, webActor(ctx));
    doneThen(ctx, userPath(account.id), `${account.username} is enabled.`);
  });

  router.post(`${USERS_PATH}/:id/unlock`, ...action, async function unlockUser(ctx) {
    const account = await accountOf(ctx);
    await accountOperations.unlock(account.id, webActor(ctx));
    doneThen(ctx, userPath(account.id), `${account.username} is unlocked.`);
  });

  router.post(`${USERS_PATH}/:id/admin`, ...freshAction, async function makeAdmin(ctx) {
    const account = await accountOf(ctx);
    await accountOperations.setAdmin(account.id, true, webActor(ctx));
    doneThen(ctx, userPath(account.id), `${account.username} is an admin of this server now.`);
  });

  router.get(`${USERS_PATH}/:id/admin/remove`, ...page, async function confirmRemoveAdmin(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'remove admin from');
    await confirm(ctx, account, {
      title: `Remove admin from ${account.username}`,
      consequences: [`${account.username} can no longer use this console or the admin API.`, 'Their access to the instances stays as it is.'],
      action: `${userPath(account.id)}/admin/remove`,
      confirmLabel: 'Remove admin',
    });
  });

  router.post(`${USERS_PATH}/:id/admin/remove`, ...action, async function removeAdmin(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'remove admin from');
    await accountOperations.setAdmin(account.id, false, webActor(ctx));
    doneThen(ctx, userPath(account.id), `${account.username} is no longer an admin.`);
  });

  router.post(`${USERS_PATH}/:id/password-link`, ...freshAction, async function resetPassword(ctx) {
    const account = await accountOf(ctx);
    const link = await accountOperations.issuePasswordLink(account.id, webActor(ctx));
    await showLink(ctx, account, link, `New set-password link for ${account.username}`);
  });

  router.get(`${USERS_PATH}/:id/password-link/:result`, ...page, async function showPasswordLink(ctx) {
    const account = await accountOf(ctx);
    const shown = await results.read<ShownLink>(ctx.state.viewer as Viewer, `account:${account.id}`, param(ctx, 'result'));
    if (!shown) {
      return renderShownOnce(
        ctx,
        `A set-password link is shown for ${RESULT_SECONDS / 60} minutes after it is made, to the session that made it, and is not kept: ` +
          `this one cannot be shown again. If it was not copied, issue a new link for ${account.username}.`,
        { url: userPath(account.id), label: `Go to ${account.username}` },
      );
    }
    const link = { url: shown.url, expiresAt: new Date(shown.expiresAt) };
    await renderPage(ctx, 'admin-users-link', { title: shown.heading, heading: shown.heading, account, link, userUrl: userPath(account.id) });
  });

  router.get(`${USERS_PATH}/:id/password/clear`, ...freshPage, async function confirmClearPassword(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'clear the password of');
    await confirm(ctx, account, {
      title: `Clear the password of ${account.username}`,
      consequences: [
        `${account.username} cannot sign in until they set a new password through the link shown next.`,
        'Every session ends now, and every instance signed in through one is told to sign them out.',
      ],
      action: `${userPath(account.id)}/password/clear`,
      confirmLabel: 'Clear password',
    });
  });

  router.post(`${USERS_PATH}/:id/password/clear`, ...freshAction, async function clearPassword(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'clear the password of');
    const link = await accountOperations.clearPassword(account.id, webActor(ctx));
    await showLink(ctx, account, link, `Password of ${account.username} cleared`);
  });

  router.get(`${USERS_PATH}/:id/mfa/reset`, ...freshPage, async function confirmMfaReset(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'reset the second factors of');
    await confirm(ctx, account, {
      title: `Reset the second factors of ${account.username}`,
      consequences: [
        `Every authenticator app, passkey and recovery code of ${account.username} is removed: they sign in with their password alone, or set up a factor again where one is required.`,
        'Every session ends now, and every instance signed in through one is told to sign them out.',
      ],
      action: `${userPath(account.id)}/mfa/reset`,
      confirmLabel: 'Reset second factors',
    });
  });

  router.post(`${USERS_PATH}/:id/mfa/reset`, ...freshAction, async function resetMfa(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'reset the second factors of');
    const { removed } = await services.mfaOperations.reset(account.id, webActor(ctx));
    doneThen(ctx, userPath(account.id), `${removed} second factor(s) of ${account.username} removed; their sessions ended.`);
  });

  router.get(`${USERS_PATH}/:id/delete`, ...freshPage, async function confirmDelete(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'delete');
    await confirm(ctx, account, {
      title: `Delete ${account.username}`,
      consequences: [
        `The account ${account.username} is deleted, with its access to every instance.`,
        'Every session ends now, and every instance signed in through one is told to sign them out.',
        'This cannot be undone.',
      ],
      action: `${userPath(account.id)}/delete`,
      confirmLabel: 'Delete account',
    });
  });

  router.post(`${USERS_PATH}/:id/delete`, ...freshAction, async function deleteUser(ctx) {
    const account = await accountOf(ctx);
    notSelf(ctx, account, 'delete');
    await accountOperations.delete(account.id, webActor(ctx));
    doneThen(ctx, USERS_PATH, `User ${account.username} deleted.`);
  });

  router.get(`${USERS_PATH}/:id/sessions/end`, ...page, async function confirmEndSessions(ctx) {
    const account = await accountOf(ctx);
    const sessions = (await services.accountSessions.list(account.id)).length;
    await confirm(ctx, account, {
      title: `End every session of ${account.username}`,
      consequences: [
        `All ${sessions} session(s) of ${account.username} end now, with the sign-ins of every instance.`,
        'They will have to sign in again.',
      ],
      action: `${userPath(account.id)}/sessions/end`,
      confirmLabel: 'End all sessions',
    });
  });

  router.post(`${USERS_PATH}/:id/sessions/end`, ...action, async function endSessions(ctx) {
    const account = await accountOf(ctx);
    const ended = await accountOperations.endSessions(account.id, 'all', webActor(ctx));
    doneThen(ctx, userPath(account.id), `${ended.sessions} session(s) of ${account.username} ended.`);
  });

  router.get(`${USERS_PATH}/:id/sessions/:uid/end`, ...page, async function confirmEndSession(ctx) {
    const account = await accountOf(ctx);
    const uid = param(ctx, 'uid');
    const session = (await services.accountSessions.list(account.id)).find((candidate) => candidate.uid === uid);
    if (!session) throw new NotFound('this session has ended already');
    await confirm(ctx, account, {
      title: `End a session of ${account.username}`,
      consequences: [
        `This session of ${account.username} ends now.`,
        `The ${session.clientIds.length} instance(s) signed in through it are told to sign them out.`,
      ],
      action: `${userPath(account.id)}/sessions/${encodeURIComponent(uid)}/end`,
      confirmLabel: 'End session',
    });
  });

  router.post(`${USERS_PATH}/:id/sessions/:uid/end`, ...action, async function endSession(ctx) {
    const account = await accountOf(ctx);
    await accountOperations.endSessions(account.id, { uid: param(ctx, 'uid') }, webActor(ctx));
    doneThen(ctx, userPath(account.id), `The session of ${account.username} ended.`);
  });

  return router;
}
