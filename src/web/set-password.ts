// The page a set-password link opens (src/admin/account-operations.ts issues the links): the owner of an account
// without a password, or whose password an admin cleared or reset, chooses one, and the account is signed out
// everywhere as by any password change. The link's secret is the page's only key, so no session or CSRF token is
// needed: whoever can post the form holds the link.
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type { AccountStore } from '../accounts/account-store.js';
import type { PasswordLinks } from '../accounts/password-links.js';
import { MAX_PASSWORD_LENGTH, type PasswordPolicy } from '../accounts/password-policy.js';
import { SET_PASSWORD_PATH, type AccountOperations } from '../admin/account-operations.js';
import { AppError } from '../errors.js';
import { renderView } from '../http/views.js';
import { formProblem, hasFormErrors, newPasswordProblems, NO_FORM_ERRORS, webActor } from './form-input.js';
import { HOME_PATH } from './web-session.js';

export interface SetPasswordDependencies {
  accounts: AccountStore;
  passwordLinks: PasswordLinks;
  accountOperations: AccountOperations;
  passwordPolicy: PasswordPolicy;
}

const LINK_NOT_VALID =
  'this link is not valid any more: it was used, it expired, a newer one was issued, or the password was changed since. Ask an admin for a new one';

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

export function setPasswordRoutes(deps: SetPasswordDependencies): Router {
  const router = new Router();
  const form = koaBody({ urlencoded: true, json: false, multipart: false, text: false, formLimit: '16kb' });

  async function page(ctx: Context, locals: Record<string, unknown>, status = 200): Promise<void> {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderView('set-password', {
      action: SET_PASSWORD_PATH,
      minLength: deps.passwordPolicy.minLength,
      maxLength: MAX_PASSWORD_LENGTH,
      errors: NO_FORM_ERRORS,
      ...locals,
    });
  }

  /** The owner of a live link, or BadRequest with the page's explanation. */
  async function ownerOf(token: string) {
    const accountId = token ? await deps.passwordLinks.accountOf(token) : null;
    const account = accountId ? await deps.accounts.find(accountId) : null;
    if (!account) throw new AppError('invalid_link', LINK_NOT_VALID, { status: 400 });
    return account;
  }

  router.get(SET_PASSWORD_PATH, async function showSetPassword(ctx) {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const account = await ownerOf(token);
    await page(ctx, { username: account.username, token });
  });

  router.post(SET_PASSWORD_PATH, form, async function setPassword(ctx) {
    const token = field(ctx, 'token');
    const account = await ownerOf(token);
    const password = field(ctx, 'password');
    const problems = newPasswordProblems(deps.passwordPolicy, account.username, password, field(ctx, 'confirm'));
    if (hasFormErrors(problems)) return page(ctx, { username: account.username, token, errors: problems }, 400);
    try {
      await deps.accountOperations.setPasswordWithLink(token, password, webActor(ctx, account.id));
    } catch (error) {
      // A password the policy refuses: ask again. Anything else (the link was used meanwhile) ends on the error page.
      const problem = error instanceof AppError && error.code === 'bad_request' ? formProblem(error, () => 'password') : null;
      if (!problem) throw error;
      return page(ctx, { username: account.username, token, errors: problem.errors }, 400);
    }
    await page(ctx, { username: account.username, done: true, accountUrl: HOME_PATH });
  });

  return router;
}
