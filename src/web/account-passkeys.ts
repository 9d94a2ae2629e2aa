// The passkeys part of the account page: adding one (a page of its own behind a fresh sign-in, whose script runs the
// WebAuthn ceremony: options fetched from here, the browser's answer posted back as the page's form) and removing one
// (a form on the account page, also behind a fresh sign-in). The ceremony's challenge is bound to this browser's
// session (its provider session uid). Every change goes through PasskeyOperations, audited.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { passkeyName } from '../accounts/passkey-ceremonies.js';
import { PASSKEY_NAME_MAX } from '../accounts/passkey-store.js';
import { AppError, NotFound } from '../errors.js';
import type { Services } from '../services.js';
import { showRecoveryCodesOnce } from './account-mfa.js';
import { doneThen } from './console-actions.js';
import { fieldError, type FormErrors, formError, formFields, NO_FORM_ERRORS, webActor } from './form-input.js';
import { OneTimeResults } from './one-time-results.js';
import { flash, renderPage } from './page.js';
import { isFreshSignIn, type Viewer, type WebGuards } from './web-session.js';

export const NEW_PASSKEY_PATH = '/account/passkeys/new';

/** The registration challenge's binding: one live registration per browser session. */
function bindingOf(viewer: Viewer): string {
  return `register:${viewer.sessionUid}`;
}

/** Adds the passkey routes to the account page's router (prefix /account, signed in, form and CSRF checked). */
export function addPasskeyPages(router: Router, services: Services, guards: WebGuards): void {
  const { passkeyCeremonies, passkeyOperations, passkeys } = services;
  const results = new OneTimeResults(services.oidcStore, services.secrets);

  function ceremonies() {
    if (!passkeyCeremonies) throw new NotFound('passkeys are not available on this server: its address is an IP address, not a domain name');
    return passkeyCeremonies;
  }

  async function showNewPasskey(ctx: Context, name: string, errors: FormErrors = NO_FORM_ERRORS, status = 200): Promise<void> {
    ceremonies();
    await renderPage(ctx, 'account-passkey-new', { title: 'Add a passkey', name, errors, nameMax: PASSKEY_NAME_MAX }, status);
  }

  router.get('/passkeys/new', guards.fresh, async function showNewPasskeyPage(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    const count = (await passkeys.listOf(account.id)).length;
    await showNewPasskey(ctx, `Passkey ${count + 1}`);
  });

  // Fetched by the page's script: the answer is JSON, a stale sign-in included (the page says to reload it).
  router.post('/passkeys/options', async function newPasskeyOptions(ctx) {
    const viewer = ctx.state.viewer as Viewer;
    if (!isFreshSignIn(viewer)) {
      throw new AppError('sign_in_again', 'your sign-in is too old to add a passkey: reload the page to sign in again', { status: 403 });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await ceremonies().registrationOptions(viewer.account, bindingOf(viewer));
  });

  router.post('/passkeys', guards.fresh, async function addPasskey(ctx) {
    const viewer = ctx.state.viewer as Viewer;
    const { name: typed = '', response = '' } = formFields(ctx);
    const name = passkeyName(typed);
    if (name === null) return showNewPasskey(ctx, typed, fieldError('name', `give it a name of 1 to ${PASSKEY_NAME_MAX} characters`), 400);
    let recoveryCodes: string[] | null;
    try {
      ({ recoveryCodes } = await passkeyOperations.register(viewer.account, bindingOf(viewer), response, name, webActor(ctx)));
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      return showNewPasskey(ctx, name, formError(error.message), error.status);
    }
    const added = `Your passkey "${name}" is added: you can sign in with it, and signing in with your password now asks for it.`;
    // The account's first second factor: its recovery codes, shown once, so that losing the passkey needs no admin.
    if (recoveryCodes) return showRecoveryCodesOnce(ctx, results, { codes: recoveryCodes, notice: added });
    doneThen(ctx, '/account#passkeys-title', added);
  });

  router.post('/passkeys/:id/remove', guards.fresh, async function removePasskey(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    try {
      const removed = await passkeyOperations.remove(account.id, ctx.params.id as string, webActor(ctx));
      doneThen(ctx, '/account#passkeys-title', `Your passkey "${removed.name}" is removed.`);
    } catch (error) {
      if (!(error instanceof NotFound)) throw error;
      flash(ctx, 'That passkey was removed already.', 'error');
      ctx.status = 303;
      ctx.redirect('/account#passkeys-title');
    }
  });
}
