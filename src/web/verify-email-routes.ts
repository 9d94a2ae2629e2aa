// The page an address-verification link opens (src/mail/email-verifications.ts). Opening it changes nothing (mail
// scanners open links): it asks to confirm, and the confirming POST uses the link. Like a set-password link, the
// link's secret is the page's only key.
import Router from '@koa/router';
import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import type { AccountStore } from '../accounts/account-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors.js';
import { renderView } from '../http/views.js';
import { VERIFY_EMAIL_PATH, type EmailVerifications } from '../mail/email-verifications.js';
import { formFields } from './form-input.js';
import { HOME_PATH } from './web-session.js';

export interface VerifyEmailDependencies {
  accounts: AccountStore;
  emailVerifications: EmailVerifications;
  audit: AuditLog;
}

function linkNotValid(): AppError {
  return new AppError(
    'invalid_link',
    'this link is not valid any more: it was used, it expired, a newer one was sent, or the address was changed since. Send a new one from your account page',
    { status: 400 },
  );
}

export function verifyEmailRoutes(deps: VerifyEmailDependencies): Router {
  const router = new Router();
  const form = koaBody({ urlencoded: true, json: false, multipart: false, text: false, formLimit: '8kb' });

  async function page(ctx: Context, locals: { username: string; email: string; token?: string; done?: boolean }) {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderView('verify-email', { title: 'Confirm your e-mail address', action: VERIFY_EMAIL_PATH, accountUrl: HOME_PATH, ...locals });
  }

  router.get(VERIFY_EMAIL_PATH, async function showVerifyEmail(ctx) {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const link = token ? await deps.emailVerifications.find(token) : null;
    const account = link ? await deps.accounts.find(link.accountId) : null;
    if (!link || !account || account.email !== link.email) throw linkNotValid();
    await page(ctx, { username: account.username, email: link.email, token });
  });

  router.post(VERIFY_EMAIL_PATH, form, async function verifyEmail(ctx) {
    const { token = '' } = formFields(ctx);
    const accountId = token ? await deps.emailVerifications.verify(token) : null;
    const account = accountId ? await deps.accounts.find(accountId) : null;
    if (!account?.email) throw linkNotValid();
    await deps.audit.record({
      action: 'account.email_verified',
      outcome: 'success',
      accountId: account.id,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent'),
      details: { email: account.email, via: 'web' },
    });
    await page(ctx, { username: account.username, email: account.email, done: true });
  });

  return router;
}
