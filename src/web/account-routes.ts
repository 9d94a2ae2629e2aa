// The signed-in person's own account page (/account).
import Router from '@koa/router';
import type { Services } from '../services.js';
import { renderPage } from './page.js';
import type { Viewer, WebGuards } from './web-session.js';

export const ACCOUNT_PATH = '/account';

export function accountRoutes(_services: Services, guards: WebGuards): Router {
  const router = new Router({ prefix: ACCOUNT_PATH });
  router.use(guards.signedIn, guards.form, guards.csrf, async function accountSection(ctx, next) {
    ctx.state.nav = 'account';
    await next();
  });

  router.get('/', async function showAccount(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    await renderPage(ctx, 'account', { title: 'Your account', account });
  });

  return router;
}
