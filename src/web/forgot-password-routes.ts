// "Forgot your password?": the page the sign-in page links to. It takes a username or an e-mail address and always
// says the same thing, in the same time, whatever it names (src/mail/password-reset.ts queues the request; the mail
// worker finds the account later). Past the hourly limits it answers 429. Without SMTP_URL the page says to ask an
// admin, and takes nothing. No session is involved, so no CSRF token: a forged post can only do what the form does
// for anyone, within the same limits, and the mail goes to the account's own address.
import Router from '@koa/router';
import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import { BadRequest } from '../errors.js';
import { renderView } from '../http/views.js';
import { MAX_IDENTIFIER_LENGTH, type PasswordReset } from '../mail/password-reset.js';
import type { AccountMail } from '../mail/account-mail.js';
import { fieldError, formFields, NO_FORM_ERRORS, type FormErrors } from './form-input.js';

export const FORGOT_PASSWORD_PATH = '/forgot-password';

/** An interaction uid as oidc-provider makes them (nanoid): the sign-in page to go back to. */
const INTERACTION_UID = /^[A-Za-z0-9_-]{10,64}$/;

export interface ForgotPasswordDependencies {
  accountMail: AccountMail;
  passwordReset: PasswordReset;
}

/** The sign-in page the person came from, to go back to, if the query or form names one. */
function signInPage(value: unknown): string | undefined {
  return typeof value === 'string' && INTERACTION_UID.test(value) ? `/interaction/${value}` : undefined;
}

export function forgotPasswordRoutes(deps: ForgotPasswordDependencies): Router {
  const router = new Router();
  const form = koaBody({ urlencoded: true, json: false, multipart: false, text: false, formLimit: '8kb' });

  async function page(ctx: Context, locals: { interaction?: string; identifier?: string; sent?: boolean; errors?: FormErrors }, status = 200) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderView('forgot-password', {
      title: 'Forgot your password?',
      action: FORGOT_PASSWORD_PATH,
      mailOn: deps.accountMail.enabled,
      maxLength: MAX_IDENTIFIER_LENGTH,
      backUrl: signInPage(locals.interaction),
      errors: NO_FORM_ERRORS,
      ...locals,
    });
  }

  router.get(FORGOT_PASSWORD_PATH, async function showForgotPassword(ctx) {
    await page(ctx, { interaction: typeof ctx.query.interaction === 'string' ? ctx.query.interaction : undefined });
  });

  router.post(FORGOT_PASSWORD_PATH, form, async function askForNewPassword(ctx) {
    const { identifier = '', interaction } = formFields(ctx);
    if (!deps.accountMail.enabled) return page(ctx, { interaction });
    try {
      await deps.passwordReset.request(identifier, { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      return page(ctx, { interaction, identifier: identifier.slice(0, MAX_IDENTIFIER_LENGTH), errors: fieldError('identifier', error.message) }, 400);
    }
    await page(ctx, { interaction, sent: true });
  });

  return router;
}

