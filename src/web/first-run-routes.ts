// `/`: first run, then the front door. While the server has never had an admin, it offers to create the first one:
// from this very host on the embedded default (SQLite) with a plain form, otherwise only with a setup token from the
// server's log (src/main.ts prints one at every start until the first admin exists), so that nobody who merely reaches
// a fresh server over the network can take it. Of any number of concurrent submissions exactly one creates the admin
// (FirstRunStore.whileFirstRun). Afterwards, whatever made the first admin (this page, the CLI, the console, the admin
// API), `/` sends a signed-in person to their account and anyone else to sign in, even if every admin is gone later.
import { BlockList, isIPv4 } from 'node:net';
import Router from '@koa/router';
import type { Context } from 'koa';
import { MAX_PASSWORD_LENGTH } from '../accounts/password-policy.js';
import { newUsernameProblem } from '../accounts/username.js';
import type { Services } from '../services.js';
import { EXAMPLE_INSTANCE_FORM_PATH } from './console-paths.js';
import { accountFieldOf, fieldError, formError, formFields, type FormErrors, formProblem, hasFormErrors, mergeFormErrors, newPasswordProblems, NO_FORM_ERRORS, webActor } from './form-input.js';
import { renderPage } from './page.js';
import { SIGN_IN_PATH } from './sign-in-routes.js';
import { currentViewer, HOME_PATH, redirectToSignIn, type WebGuards } from './web-session.js';

export const FIRST_RUN_PATH = '/';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Whether the request comes from this host (after src/http/client-address.ts), IPv4-mapped IPv6 included. */
export function isLoopback(ip: string): boolean {
  const mapped = ip.toLowerCase().startsWith('::ffff:') ? ip.slice(7) : ip;
  return isIPv4(mapped) ? loopback.check(mapped, 'ipv4') : loopback.check(ip, 'ipv6');
}

export function firstRunRoutes(services: Services, guards: WebGuards): Router {
  const { config, firstRun, accountOperations, passwordPolicy } = services;
  const router = new Router();

  /**
   * The form needs no setup token for someone at this host's own keyboard on the embedded default. ctx.ip is the
   * client after trusted proxies only: a reverse proxy on this host without AUTH_TRUST_PROXY makes everyone local.
   */
  function tokenNeeded(ctx: Context): boolean {
    return !(config.database.type === 'sqlite' && isLoopback(ctx.ip));
  }

  function showForm(ctx: Context, extra: { username?: string; errors?: FormErrors } = {}, status = 200): Promise<void> {
    return renderPage(
      ctx,
      'first-run',
      { title: 'Set up ChillFi3 sign-in', tokenNeeded: tokenNeeded(ctx), minLength: passwordPolicy.minLength, maxLength: MAX_PASSWORD_LENGTH, errors: NO_FORM_ERRORS, ...extra },
      status,
    );
  }

  router.get(FIRST_RUN_PATH, guards.csrf, async function frontDoor(ctx) {
    if (await firstRun.needed()) return showForm(ctx);
    if (await currentViewer(ctx, services)) return ctx.redirect(HOME_PATH);
    redirectToSignIn(ctx, config.issuer, HOME_PATH);
  });

  function alreadySetUp(ctx: Context): Promise<void> {
    const message = 'This server has its first admin already: sign in with your account.';
    return renderPage(ctx, 'refused', { title: 'This server is set up', message }, 409);
  }

  router.post(FIRST_RUN_PATH, guards.form, guards.csrf, async function createFirstAdmin(ctx) {
    const fields = formFields(ctx);
    const username = (fields.username ?? '').trim();
    if (!(await firstRun.needed())) return alreadySetUp(ctx);
    const tokenWrong = tokenNeeded(ctx) && !(await firstRun.isSetupToken((fields.setup_token ?? '').trim()));
    // Every token goes with the first admin: one made a moment ago is what the visitor should hear of.
    if (tokenWrong && !(await firstRun.needed())) return alreadySetUp(ctx);
    const usernameProblem = newUsernameProblem(username);
    const problems = [
      tokenWrong ? fieldError('setup_token', 'that setup token is not right. Copy it from the server’s log, printed when it started') : NO_FORM_ERRORS,
      usernameProblem ? fieldError('username', usernameProblem) : NO_FORM_ERRORS,
      newPasswordProblems(passwordPolicy, username, fields.password ?? '', fields.confirm ?? ''),
    ].reduce(mergeFormErrors);
    if (hasFormErrors(problems)) return showForm(ctx, { username, errors: problems }, tokenWrong ? 403 : 400);
    const actor = webActor(ctx, null);
    let created;
    try {
      created = await firstRun.whileFirstRun(() => accountOperations.create({ username, password: fields.password ?? '', isAdmin: true }, actor));
    } catch (error) {
      const problem = formProblem(error, accountFieldOf);
      if (!problem) throw error;
      return showForm(ctx, { username, errors: problem.errors }, problem.status);
    }
    if (created === 'taken') {
      return showForm(ctx, { username, errors: formError('someone else is creating the first admin at this very moment, or just did: reload this page') }, 409);
    }
    await renderPage(ctx, 'first-run-done', {
      title: 'Your server is ready',
      username: created.account.username,
      signInUrl: `${SIGN_IN_PATH}?return_to=${encodeURIComponent(HOME_PATH)}`,
      registerInstanceUrl: `${SIGN_IN_PATH}?return_to=${encodeURIComponent(EXAMPLE_INSTANCE_FORM_PATH)}`,
    });
  });

  return router;
}
