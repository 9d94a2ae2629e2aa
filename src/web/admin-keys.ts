// The console's signing keys: each with its state (next, active, retiring), algorithm, kid and dates; a rotation
// started by hand (a next key staged for the access-token and ID-token algorithms, as `keys rotate` and the admin API
// do), and a retiring key removed before its time. Both go through KeyOperations (audited; every node follows).
import Router from '@koa/router';
import type { Context } from 'koa';
import { param } from '../admin/admin-routes.js';
import { NotFound } from '../errors.js';
import type { SigningKeySummary } from '../keys/key-store.js';
import type { Services } from '../services.js';
import { doneThen } from './console-actions.js';
import { formProblem, webActor } from './form-input.js';
import { ADMIN_CONSOLE_PREFIX, flash, renderPage } from './page.js';
import type { WebGuards } from './web-session.js';

export const KEYS_PATH = `${ADMIN_CONSOLE_PREFIX}/keys`;
const ROTATE_PATH = `${KEYS_PATH}/rotate`;

function retirePath(kid: string): string {
  return `${KEYS_PATH}/${encodeURIComponent(kid)}/retire`;
}

export function adminKeyPages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { keyOperations, config } = services;
  const page = [guards.signedIn, guards.admin, guards.csrf];
  const action = [guards.signedIn, guards.admin, guards.form, guards.csrf];
  const freshPage = [guards.signedIn, guards.admin, guards.fresh, guards.csrf];
  const freshAction = [guards.signedIn, guards.admin, guards.fresh, guards.form, guards.csrf];
  router.use(function keysSection(ctx, next) {
    ctx.state.nav = 'keys';
    return next();
  });

  /** The algorithms a rotation stages keys for: the ones this server signs with. */
  const algorithms = [...new Set([config.algorithms.accessToken, config.algorithms.idToken])];

  /** The retiring key named by the path; a key in any other state is not removed from here. */
  async function retiringKey(ctx: Context): Promise<SigningKeySummary> {
    const kid = param(ctx, 'kid');
    const key = (await keyOperations.list()).find((candidate) => candidate.kid === kid);
    if (!key || key.state !== 'retiring') throw new NotFound(`no retiring signing key ${kid}`);
    return key;
  }

  router.get(KEYS_PATH, ...page, async function listKeys(ctx) {
    // A handful of rows: at most a next, an active and a retiring key per algorithm.
    const keys = await keyOperations.list();
    await renderPage(ctx, 'admin-keys', {
      title: 'Signing keys',
      keys: keys.map((key) => ({ ...key, retireUrl: key.state === 'retiring' ? retirePath(key.kid) : null })),
      algorithms,
      // What the page says of rotation follows the configuration: by default (0) keys rotate only by hand.
      rotationDays: config.keyRotation.rotationDays,
      rotateUrl: ROTATE_PATH,
    });
  });

  router.get(ROTATE_PATH, ...freshPage, async function confirmRotation(ctx) {
    await renderPage(ctx, 'admin-keys-confirm', {
      title: 'Rotate the signing keys?',
      consequences: [
        `A next key is staged for ${algorithms.join(' and ')}: published in the JWKS now, so that instances learn it before it signs.`,
        'It starts signing once the publish delay has passed; the key it replaces then retires, and is removed once the tokens it signed have expired.',
        'Tokens already issued keep working.',
      ],
      action: ROTATE_PATH,
      confirmLabel: 'Rotate keys',
      cancelUrl: KEYS_PATH,
    });
  });

  router.post(ROTATE_PATH, ...freshAction, async function rotateKeys(ctx) {
    try {
      const staged = await keyOperations.rotate(algorithms, webActor(ctx));
      doneThen(ctx, KEYS_PATH, `Rotation started: ${staged.map((key) => `${key.alg} key ${key.kid}`).join(', ')} staged.`);
    } catch (error) {
      // A rotation already under way (a next key staged) is said on the list, not as an error page.
      const problem = formProblem(error);
      if (!problem) throw error;
      flash(ctx, problem.message, 'error');
      ctx.status = 303;
      ctx.redirect(KEYS_PATH);
    }
  });

  router.get(`${KEYS_PATH}/:kid/retire`, ...page, async function confirmRetire(ctx) {
    const key = await retiringKey(ctx);
    await renderPage(ctx, 'admin-keys-confirm', {
      title: `Remove the retiring key ${key.kid}?`,
      consequences: [
        'It leaves the JWKS now: tokens it signed stop verifying, even those not yet expired.',
        'Do this when the key must not be trusted any more; otherwise it goes by itself once its tokens have expired.',
      ],
      action: retirePath(key.kid),
      confirmLabel: 'Remove key',
      cancelUrl: KEYS_PATH,
    });
  });

  router.post(`${KEYS_PATH}/:kid/retire`, ...action, async function retireKey(ctx) {
    const key = await retiringKey(ctx);
    await keyOperations.retire(key.kid, webActor(ctx));
    doneThen(ctx, KEYS_PATH, `Key ${key.kid} removed.`);
  });

  return router;
}
