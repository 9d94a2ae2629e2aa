// The console's access pages: who may use an instance, with which role and local id. Reached from an instance (its
// members, "invite" by username: on an `invite` instance only members may sign in) and from a user (the instances
// they may use). Every change is the access operation the CLI and the admin API call (src/admin/access-operations.ts):
// audited, and a removal ends what the account holds on that instance.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Account } from '../accounts/account-entity.js';
import { AccessGrant } from '../admin/admin-api-schemas.js';
import { param, queryInput } from '../admin/admin-routes.js';
import { type AppError, NotFound, quoted } from '../errors.js';
import type { InstanceRole } from '../instances/instance-access-entity.js';
import type { Instance } from '../instances/instance-entity.js';
import type { Services } from '../services.js';
import { doneThen } from './console-actions.js';
import { fieldError, formFields, type FormErrors, formProblem, inFormWords, inputProblems, mergeFormErrors, NO_FORM_ERRORS, webActor } from './form-input.js';
import { renderUserPage } from './admin-users.js';
import { INSTANCES_PATH, instanceAccessPath, instancePath, memberPath, userPath, USERS_PATH } from './console-paths.js';
import { renderPage } from './page.js';
import type { WebGuards } from './web-session.js';

/** Members per page of an instance's access list. */
export const MEMBERS_PAGE_SIZE = 25;

const MembersPageQuery = z.strictObject({ page: z.coerce.number<string>().int().min(1).max(1_000_000).optional() });

/** Where a change of one link was asked from, and so where its answer goes: the user's page or the instance's. */
const ReturnTo = z.strictObject({ from: z.enum(['user', 'instance']).optional() });

/** The field of an access form a store's refusal is about: a local id another account holds, a role. */
function accessFieldOf(error: AppError): string | undefined {
  if (/^(local id|the local user id) /.test(error.message)) return 'localUserId';
  if (error.message.startsWith('role ')) return 'role';
  return undefined;
}

/** A role and local id as typed: the local id blank for none, digits for a number, anything else left for zod to refuse. */
function accessInput(fields: Record<string, string>) {
  const localUserId = (fields.localUserId ?? '').trim();
  return AccessGrant.safeParse(
    {
      role: fields.role ?? '',
      localUserId: localUserId === '' ? null : /^\d{1,10}$/.test(localUserId) ? Number(localUserId) : localUserId,
    },
    // Zod speaks of types and bounds; the form of what to type.
    { error: (issue) => (issue.path?.[0] === 'localUserId' ? "the user's number in that server's database (1 or more), or empty for none" : inFormWords(issue)) },
  );
}

/** The values a refused access form shows again. */
function accessValues(fields: Record<string, string>): { role: string; localUserId: string } {
  return { role: fields.role ?? 'member', localUserId: fields.localUserId ?? '' };
}

/** What the access page needs besides the instance: the add form's values, the row being edited, what was refused of either. */
interface AccessPageExtras {
  add?: Record<string, string>;
  errors?: FormErrors;
  edit?: { accountId: string; role: string; localUserId: string };
}

async function renderAccessPage(ctx: Context, services: Services, instance: Instance, pageNumber: number, extras: AccessPageExtras = {}, status = 200): Promise<void> {
  const links = await services.accessOperations.list({ instanceId: instance.id }, { limit: MEMBERS_PAGE_SIZE + 1, offset: (pageNumber - 1) * MEMBERS_PAGE_SIZE });
  const shown = links.slice(0, MEMBERS_PAGE_SIZE);
  const accounts = new Map((await services.accounts.findMany(shown.map((link) => link.accountId))).map((account) => [account.id, account]));
  const accessUrl = instanceAccessPath(instance.id);
  await renderPage(
    ctx,
    'admin-access',
    {
      title: `Access to ${instance.name}`,
      instance,
      instanceUrl: instancePath(instance.id),
      accessUrl,
      // An account deleted since the links were read has taken its link with it.
      members: shown.flatMap((link) => {
        const account = accounts.get(link.accountId);
        if (!account) return [];
        const edited = extras.edit?.accountId === link.accountId ? extras.edit : null;
        return {
          ...link,
          username: account.username,
          displayName: account.displayName,
          userUrl: userPath(account.id),
          url: memberPath(instance.id, account.id),
          role: edited?.role ?? link.role,
          localUserId: edited ? edited.localUserId : (link.localUserId?.toString() ?? ''),
        } as const;
      }),
      pageNumber,
      previousUrl: pageNumber > 1 ? `${accessUrl}?page=${pageNumber - 1}` : null,
      nextUrl: links.length > MEMBERS_PAGE_SIZE ? `${accessUrl}?page=${pageNumber + 1}` : null,
      add: extras.add ?? { username: '', role: 'member', localUserId: '' },
      errors: extras.errors ?? NO_FORM_ERRORS,
      editId: extras.edit?.accountId ?? null,
    },
    status,
  );
}

export function adminAccessPages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { accessOperations, accounts, instances } = services;
  const page = [guards.signedIn, guards.admin, guards.csrf];
  const action = [guards.signedIn, guards.admin, guards.form, guards.csrf];
  const accessPath = `${INSTANCES_PATH}/:id/access`;
  router.use(function accessSection(ctx, next) {
    ctx.state.nav = ctx.path.startsWith(USERS_PATH) ? 'users' : 'instances';
    return next();
  });

  /** The route's instance and account, linked; the friendly 404 when either or the link is missing. */
  async function linkOf(ctx: Context) {
    const [instance, account] = await Promise.all([instances.get(param(ctx, 'id')), accounts.get(param(ctx, 'accountId'))]);
    if (!(await instances.accessOf(instance.id, account.id))) throw new NotFound(`${account.username} has no access to ${instance.name}`);
    return { instance, account };
  }

  function returnTo(from: 'user' | 'instance' | undefined, instance: Instance, account: Account): string {
    return from === 'user' ? userPath(account.id) : instanceAccessPath(instance.id);
  }

  router.get(accessPath, ...page, async function showAccess(ctx) {
    const { page: pageNumber = 1 } = queryInput(ctx, MembersPageQuery);
    await renderAccessPage(ctx, services, await instances.get(param(ctx, 'id')), pageNumber);
  });

  /** Grants the access; a refusal of the operation (a taken local id, ...) is answered on the form instead: false. */
  async function granted(
    ctx: Context,
    instanceId: string,
    accountId: string,
    { role, localUserId }: { role: InstanceRole; localUserId?: number | null | undefined },
    refuse: (errors: FormErrors, status?: number) => Promise<void>,
  ): Promise<boolean> {
    try {
      await accessOperations.grant(instanceId, accountId, role, localUserId ?? null, webActor(ctx));
      return true;
    } catch (error) {
      const problem = formProblem(error, accessFieldOf);
      if (!problem) throw error;
      await refuse(problem.errors, problem.status);
      return false;
    }
  }

  router.post(accessPath, ...action, async function addMember(ctx) {
    const instance = await instances.get(param(ctx, 'id'));
    const fields = formFields(ctx);
    const add = { username: fields.username ?? '', ...accessValues(fields) };
    const refuse = (errors: FormErrors, status = 400) => renderAccessPage(ctx, services, instance, 1, { add, errors }, status);
    const input = accessInput(fields);
    const username = add.username.trim();
    const account = username ? await accounts.findByUsername(username) : null;
    const usernameErrors = account ? NO_FORM_ERRORS : fieldError('username', username ? `there is no user named ${quoted(username)}` : 'enter the username of the person to add');
    if (!input.success) return refuse(mergeFormErrors(usernameErrors, inputProblems(input.error)));
    if (!account) return refuse(usernameErrors);
    if (!(await granted(ctx, instance.id, account.id, input.data, refuse))) return;
    doneThen(ctx, instanceAccessPath(instance.id), `${account.username} may use ${instance.name} as ${input.data.role}.`);
  });

  router.post(`${USERS_PATH}/:accountId/access`, ...action, async function grantAccess(ctx) {
    const account = await accounts.get(param(ctx, 'accountId'));
    const fields = formFields(ctx);
    const grant = { instanceId: fields.instanceId ?? '', ...accessValues(fields) };
    const refuse = (accessErrors: FormErrors, status = 400) => renderUserPage(ctx, services, account, { grant, accessErrors }, status);
    const input = accessInput(fields);
    const instance = grant.instanceId ? await instances.get(grant.instanceId).catch(() => null) : null;
    const instanceErrors = instance ? NO_FORM_ERRORS : fieldError('instanceId', 'choose the instance to give access to');
    if (!input.success) return refuse(mergeFormErrors(instanceErrors, inputProblems(input.error)));
    if (!instance) return refuse(instanceErrors);
    if (!(await granted(ctx, instance.id, account.id, input.data, refuse))) return;
    doneThen(ctx, userPath(account.id), `${account.username} may use ${instance.name} as ${input.data.role}.`);
  });

  router.post(`${accessPath}/:accountId`, ...action, async function changeAccess(ctx) {
    const { instance, account } = await linkOf(ctx);
    const fields = formFields(ctx);
    const from = fields.from === 'user' ? 'user' : 'instance';
    const edit = { accountId: account.id, instanceId: instance.id, ...accessValues(fields) };
    const refuse = (errors: FormErrors, status = 400) =>
      from === 'user'
        ? renderUserPage(ctx, services, account, { accessEdit: edit, accessErrors: errors }, status)
        : renderAccessPage(ctx, services, instance, 1, { edit, errors }, status);
    const input = accessInput(fields);
    if (!input.success) return refuse(inputProblems(input.error));
    const changes: { role: InstanceRole; localUserId: number | null } = { role: input.data.role, localUserId: input.data.localUserId ?? null };
    try {
      await accessOperations.change(instance.id, account.id, changes, webActor(ctx));
    } catch (error) {
      const problem = formProblem(error, accessFieldOf);
      if (!problem) throw error;
      return refuse(problem.errors, problem.status);
    }
    doneThen(ctx, returnTo(from, instance, account), `Access of ${account.username} to ${instance.name} saved.`);
  });

  router.get(`${accessPath}/:accountId/remove`, ...page, async function confirmRemove(ctx) {
    const { instance, account } = await linkOf(ctx);
    const { from } = queryInput(ctx, ReturnTo);
    await renderPage(ctx, 'admin-access-confirm', {
      account,
      instance,
      title: `Remove ${account.username} from ${instance.name}`,
      consequences: [
        instance.accessPolicy === 'invite'
          ? `${account.username} can no longer sign in to ${instance.name} (it is invite only).`
          : `${account.username} loses their role and local id on ${instance.name}; it is open to every user, so signing in to it again makes them a member.`,
        `Their sign-in on ${instance.name} ends now, and ${instance.name} is told to sign them out.`,
      ],
      action: `${memberPath(instance.id, account.id)}/remove`,
      fields: { from: from ?? 'instance' },
      confirmLabel: 'Remove access',
      cancelUrl: returnTo(from, instance, account),
    });
  });

  router.post(`${accessPath}/:accountId/remove`, ...action, async function removeAccess(ctx) {
    const { instance, account } = await linkOf(ctx);
    const from = formFields(ctx).from === 'user' ? 'user' : 'instance';
    await accessOperations.revoke(instance.id, account.id, webActor(ctx));
    doneThen(ctx, returnTo(from, instance, account), `${account.username} no longer has access to ${instance.name}.`);
  });

  return router;
}
