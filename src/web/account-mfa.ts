// The second-factor part of the account page (/account/mfa/...): set up an authenticator app (QR code and a code from
// it), see and make new recovery codes (shown once, through the one-time results of one-time-results.ts: POST, 303,
// then a page a reload reads again), and remove a factor. Each needs a fresh sign-in, as giving out a way into an
// account does in the console: whoever finds a session left open must not add their own phone to it, nor take the
// owner's away. Every change goes through MfaOperations (audited).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { doneThen } from './console-actions.js';
import { formFields, webActor } from './form-input.js';
import { OneTimeResults, renderShownOnce, RESULT_SECONDS } from './one-time-results.js';
import { renderPage } from './page.js';
import type { Viewer, WebGuards } from './web-session.js';

export const ACCOUNT_MFA_PATH = '/account/mfa';
const TOTP_PATH = `${ACCOUNT_MFA_PATH}/totp`;
const RECOVERY_CODES_PATH = `${ACCOUNT_MFA_PATH}/recovery-codes`;

/** What the recovery codes page shows once: the codes, and what was just set up with them (null: nothing). */
interface ShownCodes {
  codes: string[];
  notice: string | null;
}

const TOTP_ON = 'Your authenticator app is on: signing in now asks for a code from it.';

/** The one-time result's subject: the account's own codes. */
function codesSubject(viewer: Viewer): string {
  return `recovery-codes:${viewer.account.id}`;
}

/** An enrolment started on this page is bound to this browser's session: its QR code cannot be confirmed elsewhere. */
function enrolmentBinding(viewer: Viewer): string {
  return `web:${viewer.sessionUid}`;
}

/**
 * Keeps new recovery codes as a one-time result of this browser's session and sends it (303) to the page that shows
 * them: a reload shows them again for a while, nothing keeps them after.
 */
export async function showRecoveryCodesOnce(ctx: Context, results: OneTimeResults, shown: ShownCodes): Promise<void> {
  const viewer = ctx.state.viewer as Viewer;
  const resultId = await results.keep(viewer, codesSubject(viewer), shown);
  ctx.status = 303;
  ctx.redirect(`${RECOVERY_CODES_PATH}/${resultId}`);
}

/** Adds the routes to the account page's router (under its guards: signed in, form, CSRF). */
export function accountMfaRoutes(router: Router, services: Services, guards: WebGuards): void {
  const { mfaOperations, totp } = services;
  const results = new OneTimeResults(services.oidcStore, services.secrets);
  const prefix = (path: string) => path.slice('/account'.length);

  async function showEnrolment(ctx: Context, error?: string, status = 200): Promise<void> {
    const viewer = ctx.state.viewer as Viewer;
    const enrolment = await totp.startEnrolment(viewer.account, enrolmentBinding(viewer));
    await renderPage(ctx, 'account-mfa-totp', { title: 'Set up an authenticator app', enrolment, error }, status);
  }

  router.get(prefix(TOTP_PATH), guards.fresh, async function showTotpEnrolment(ctx) {
    await showEnrolment(ctx);
  });

  router.post(prefix(TOTP_PATH), guards.fresh, async function enrolTotp(ctx) {
    const viewer = ctx.state.viewer as Viewer;
    const { enrolment = '', code = '' } = formFields(ctx);
    let codes: string[];
    try {
      codes = await mfaOperations.enrolTotp(viewer.account, enrolmentBinding(viewer), enrolment, code, webActor(ctx));
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'enrolment_refused') throw error;
      return showEnrolment(ctx, `${error.message[0]!.toUpperCase()}${error.message.slice(1)}.`, 400);
    }
    await showRecoveryCodesOnce(ctx, results, { codes, notice: TOTP_ON });
  });

  router.post(prefix(RECOVERY_CODES_PATH), guards.fresh, async function regenerateRecoveryCodes(ctx) {
    const viewer = ctx.state.viewer as Viewer;
    const codes = await mfaOperations.regenerateRecoveryCodes(viewer.account.id, webActor(ctx));
    await showRecoveryCodesOnce(ctx, results, { codes, notice: null });
  });

  router.get(`${prefix(RECOVERY_CODES_PATH)}/:result`, async function showRecoveryCodes(ctx) {
    const viewer = ctx.state.viewer as Viewer;
    const shown = await results.read<ShownCodes>(viewer, codesSubject(viewer), ctx.params.result ?? '');
    if (!shown) {
      return renderShownOnce(
        ctx,
        `Recovery codes are shown for ${RESULT_SECONDS / 60} minutes after they are made, to the session that made them, and are not kept: ` +
          'these cannot be shown again. If they were not saved, make new ones on your account page.',
        { url: '/account', label: 'Go to your account' },
      );
    }
    await renderPage(ctx, 'account-mfa-codes', { title: 'Your recovery codes', ...shown });
  });

  router.post(`${prefix(ACCOUNT_MFA_PATH)}/:id/remove`, guards.fresh, async function removeFactor(ctx) {
    const viewer = ctx.state.viewer as Viewer;
    await mfaOperations.remove(viewer.account.id, ctx.params.id ?? '', webActor(ctx));
    doneThen(ctx, '/account', 'That second factor is removed.');
  });
}
