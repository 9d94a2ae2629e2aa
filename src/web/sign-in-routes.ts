// Signing in and out of the server's own pages: the provider's callback for the console client, a sign-in link any
// page can offer, and sign-out, which ends this browser's provider session like "sign out this one" would (every
// instance signed in through it is told by back-channel logout) and lands on a page that says so.
import Router from '@koa/router';
import { AppError } from '../errors.js';
import { renderView } from '../http/views.js';
import { WEB_CALLBACK_PATH } from '../provider/console-client.js';
import type { Services } from '../services.js';
import { webActor } from './form-input.js';
import { currentViewer, finishSignIn, HOME_PATH, localPath, redirectToSignIn, type Viewer, type WebGuards } from './web-session.js';

export const SIGN_IN_PATH = '/web/sign-in';
export const SIGN_OUT_PATH = '/web/sign-out';
const SIGNED_OUT_PATH = '/web/signed-out';

export function signInRoutes(services: Services, guards: WebGuards): Router {
  const { issuer } = services.config;
  const router = new Router();

  router.get(SIGN_IN_PATH, function signIn(ctx) {
    redirectToSignIn(ctx, issuer, localPath(ctx.query.return_to) ?? HOME_PATH);
  });

  router.get(WEB_CALLBACK_PATH, async function signInCallback(ctx) {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const { returnTo } = finishSignIn(ctx, state);
    if (typeof ctx.query.error === 'string') {
      const description = typeof ctx.query.error_description === 'string' ? ctx.query.error_description : 'the sign-in did not finish';
      throw new AppError(ctx.query.error, description, { status: 400 });
    }
    // A browser that refuses the provider's cookies would otherwise go round between here and the sign-in page.
    if (!(await currentViewer(ctx, services))) {
      throw new AppError('not_signed_in', 'the sign-in did not stick: this browser must accept cookies from this server', { status: 400 });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(returnTo);
  });

  router.post(SIGN_OUT_PATH, guards.signedIn, guards.form, guards.csrf, async function signOut(ctx) {
    const { account, sessionUid } = ctx.state.viewer as Viewer;
    await services.accountOperations.endSessions(account.id, { uid: sessionUid }, webActor(ctx));
    ctx.status = 303;
    ctx.redirect(SIGNED_OUT_PATH);
  });

  router.get(SIGNED_OUT_PATH, async function showSignedOut(ctx) {
    // Opened again later, signed in meanwhile: the page would be wrong.
    if (await currentViewer(ctx, services)) return ctx.redirect(HOME_PATH);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderView('logged-out', { title: 'Signed out', signInUrl: HOME_PATH });
  });

  return router;
}
