// The signed-in person's own account page (/account): their profile, their password, the ChillFi3 servers they can
// use, their sessions (sign out one, or everywhere) and their recent sign-ins. Every change goes through
// AccountOperations, as the CLI's and the API's do (checked, audited, sessions ended where the change must end them).
// A password change asks for the current password rather than a fresh sign-in: it proves the person is at the
// keyboard just as well, and AccountOperations.changeOwnPassword counts a wrong one towards the lockout.
import Router from '@koa/router';
import type { Context } from 'koa';
import { PROFILE_LIMITS } from '../accounts/account-store.js';
import { ProfileUpdate } from '../admin/user-api-schemas.js';
import { MAX_PASSWORD_LENGTH } from '../accounts/password-policy.js';
import type { Services } from '../services.js';
import { accountMfaRoutes } from './account-mfa.js';
import { accountOverview } from './account-overview.js';
import { addPasskeyPages } from './account-passkeys.js';
import {
  accountFieldOf,
  blankAsNull,
  formFields,
  type FormErrors,
  formProblem,
  hasFormErrors,
  inFormWords,
  newPasswordProblems,
  NO_FORM_ERRORS,
  profileFormProblems,
  webActor,
} from './form-input.js';
import { doneThen } from './console-actions.js';
import { renderPage } from './page.js';
import type { Viewer, WebGuards } from './web-session.js';

export const ACCOUNT_PATH = '/account';

/** What the account page shows besides what it reads from the stores: a form sent back with its problem. */
interface AccountPageState {
  profile?: Record<string, string>;
  profileErrors?: FormErrors;
  passwordErrors?: FormErrors;
}

export function accountRoutes(services: Services, guards: WebGuards): Router {
  const { accountOperations, passwordPolicy } = services;
  const router = new Router({ prefix: ACCOUNT_PATH });
  router.use(guards.signedIn, guards.form, guards.csrf, async function accountSection(ctx, next) {
    ctx.state.nav = 'account';
    await next();
  });

  async function showAccount(ctx: Context, state: AccountPageState = {}, status = 200): Promise<void> {
    const { account, sessionUid } = ctx.state.viewer as Viewer;
    await renderPage(
      ctx,
      'account',
      {
        title: 'Your account',
        account,
        profile: state.profile ?? {
          displayName: account.displayName ?? '',
          email: account.email ?? '',
          bio: account.bio ?? '',
          picture: account.picture ?? '',
        },
        profileErrors: state.profileErrors ?? NO_FORM_ERRORS,
        passwordErrors: state.passwordErrors ?? NO_FORM_ERRORS,
        mailOn: services.accountMail.enabled,
        limits: PROFILE_LIMITS,
        minLength: passwordPolicy.minLength,
        maxLength: MAX_PASSWORD_LENGTH,
        ...(await accountOverview(services, account, sessionUid)),
        passkeys: services.passkeyCeremonies ? await services.passkeys.listOf(account.id) : null,
        secondFactors: await services.secondFactors.summary(account.id),
      },
      status,
    );
  }

  router.get('/', async function showAccountPage(ctx) {
    await showAccount(ctx);
  });

  router.post('/profile', async function updateProfile(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    const { displayName = '', email = '', bio = '', picture = '' } = formFields(ctx);
    const profile = { displayName, email, bio, picture };
    const typed = blankAsNull(profile);
    const input = ProfileUpdate.safeParse(typed, { error: inFormWords });
    const problems = profileFormProblems(input, typed);
    if (!input.success || hasFormErrors(problems)) return showAccount(ctx, { profile, profileErrors: problems }, 400);
    try {
      await accountOperations.updateProfile(account.id, input.data, webActor(ctx));
    } catch (error) {
      const problem = formProblem(error, accountFieldOf);
      if (!problem) throw error;
      return showAccount(ctx, { profile, profileErrors: problem.errors }, problem.status);
    }
    doneThen(ctx, ACCOUNT_PATH, 'Your profile is saved.');
  });

  router.post('/password', async function changePassword(ctx) {
    const { account, sessionUid } = ctx.state.viewer as Viewer;
    const { current = '', password = '', confirm = '' } = formFields(ctx);
    const problems = newPasswordProblems(passwordPolicy, account.username, password, confirm);
    if (hasFormErrors(problems)) return showAccount(ctx, { passwordErrors: problems }, 400);
    try {
      await accountOperations.changeOwnPassword(account.id, current, password, { ...webActor(ctx), keepSessionUid: sessionUid });
    } catch (error) {
      // The current password not right is said under its field; the policy's refusals were found above.
      const problem = formProblem(error, (refused) => (refused.message.startsWith('the current password') ? 'current' : accountFieldOf(refused)));
      if (!problem) throw error;
      return showAccount(ctx, { passwordErrors: problem.errors }, problem.status);
    }
    doneThen(ctx, ACCOUNT_PATH, 'Your password is changed. Your other sessions are signed out.');
  });

  router.post('/email/verify', async function resendVerification(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    const sent = await accountOperations.resendVerification(account.id);
    doneThen(ctx, ACCOUNT_PATH, sent ? `A new confirmation link is on its way to ${account.email}.` : 'There is no unconfirmed address to send a link to.');
  });

  router.post('/notices', async function saveNotices(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    const on = formFields(ctx).newBrowser === 'on';
    await accountOperations.setSignInNotices(account.id, on, webActor(ctx));
    doneThen(ctx, ACCOUNT_PATH, on ? 'You get a mail at each sign-in from a new browser.' : 'You get no mail for sign-ins from new browsers.');
  });
  accountMfaRoutes(router, services, guards);

  router.post('/sessions/end', async function endOneSession(ctx) {
    const { account, sessionUid } = ctx.state.viewer as Viewer;
    const { uid = '' } = formFields(ctx);
    await accountOperations.endSessions(account.id, { uid }, webActor(ctx));
    // Ending the session this page runs in signs this browser out: the front door sends it to sign in.
    if (uid === sessionUid) {
      ctx.status = 303;
      return ctx.redirect('/');
    }
    doneThen(ctx, ACCOUNT_PATH, 'That session is signed out, with every server signed in through it.');
  });

  addPasskeyPages(router, services, guards);

  router.get('/sessions/end-all', async function confirmEndAllSessions(ctx) {
    await renderPage(ctx, 'account-sign-out-everywhere', { title: 'Sign out everywhere?' });
  });

  router.post('/sessions/end-all', async function endAllSessions(ctx) {
    const { account } = ctx.state.viewer as Viewer;
    await accountOperations.endSessions(account.id, 'all', webActor(ctx));
    ctx.status = 303;
    ctx.redirect('/');
  });

  return router;
}
