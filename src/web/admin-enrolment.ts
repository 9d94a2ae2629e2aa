// The console's "Enrol a ChillFi3 server": an admin makes a one-time enrolment token (EnrolmentOperations, audited),
// shown once on a page of its own the POST redirects to (src/web/one-time-results.ts), with the command the new
// server runs; the tokens that may still be used are listed (never the token itself), each withdrawable.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { param } from '../admin/admin-routes.js';
import { DEFAULT_ENROLMENT_TTL } from '../instances/enrolment-tokens.js';
import type { Services } from '../services.js';
import { doneThen } from './console-actions.js';
import { INSTANCES_PATH } from './console-paths.js';
import { fieldError, formProblem, type FormErrors, NO_FORM_ERRORS, webActor } from './form-input.js';
import { OneTimeResults, renderShownOnce, RESULT_SECONDS } from './one-time-results.js';
import { renderPage } from './page.js';
import type { Viewer, WebGuards } from './web-session.js';

export const ENROL_PATH = `${INSTANCES_PATH}/enrol`;
const RESULT_SUBJECT = 'enrolment-token';

/** The lives the form offers, in seconds, as people say them. */
const TTL_CHOICES: readonly [number, string][] = [
  [900, '15 minutes'],
  [DEFAULT_ENROLMENT_TTL, '1 hour'],
  [86_400, '1 day'],
  [7 * 86_400, '7 days'],
];

const EnrolForm = z.object({
  ttl: z.enum(TTL_CHOICES.map(([seconds]) => String(seconds)) as [string, ...string[]]),
  accessPolicy: z.enum(['open', 'invite']),
  name: z.string().max(100).optional(),
  allowAdmin: z.literal('on').optional(),
});

interface EnrolFormValues {
  ttl: string;
  accessPolicy: string;
  name: string;
  allowAdmin: boolean;
}

const NEW_FORM: EnrolFormValues = { ttl: String(DEFAULT_ENROLMENT_TTL), accessPolicy: 'open', name: '', allowAdmin: false };

/** What the token page shows, kept between the POST and the page. */
interface ShownToken {
  token: string;
  /** ISO time. */
  expiresAt: string;
  registrationEndpoint: string;
}

/** The command a new ChillFi3 server runs with the token (packages/sdk's bin; docs/chillfi3.md). */
export function enrolCommand(issuer: string, token: string): string {
  return `npx @chillfi3/auth-client enrol --server ${issuer} --token ${token} --url https://<its address>`;
}

export function adminEnrolmentPages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { enrolmentOperations, config } = services;
  const page = [guards.signedIn, guards.admin, guards.csrf];
  const action = [guards.signedIn, guards.admin, guards.form, guards.csrf];
  const results = new OneTimeResults(services.oidcStore, services.secrets);
  router.use(function instancesSection(ctx, next) {
    ctx.state.nav = 'instances';
    return next();
  });

  async function enrolPage(ctx: Context, values: EnrolFormValues, errors: FormErrors = NO_FORM_ERRORS, status = 200): Promise<void> {
    const live = await enrolmentOperations.listLive();
    await renderPage(
      ctx,
      'admin-instances-enrol',
      {
        title: 'Enrol a ChillFi3 server',
        values,
        errors,
        ttlChoices: TTL_CHOICES,
        action: ENROL_PATH,
        tokens: live.map((token) => ({ ...token, withdrawUrl: `${ENROL_PATH}/${encodeURIComponent(token.id)}/withdraw` })),
        instancesUrl: INSTANCES_PATH,
      },
      status,
    );
  }

  router.get(ENROL_PATH, ...page, async function enrolForm(ctx) {
    await enrolPage(ctx, NEW_FORM);
  });

  router.post(ENROL_PATH, ...action, async function issueEnrolmentToken(ctx) {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const values: EnrolFormValues = {
      ttl: String(body.ttl ?? ''),
      accessPolicy: String(body.accessPolicy ?? ''),
      name: String(body.name ?? ''),
      allowAdmin: body.allowAdmin === 'on',
    };
    const read = EnrolForm.safeParse(body);
    if (!read.success) {
      const field = String(read.error.issues[0]?.path[0] ?? 'name');
      return enrolPage(ctx, values, fieldError(field, field === 'name' ? 'the name is at most 100 characters' : `pick one of the ${field === 'ttl' ? 'lives' : 'policies'} offered`), 400);
    }
    let issued;
    try {
      issued = await enrolmentOperations.issue(
        { ttlSeconds: Number(read.data.ttl), accessPolicy: read.data.accessPolicy, name: read.data.name?.trim() || null, allowAdmin: read.data.allowAdmin === 'on' },
        webActor(ctx),
      );
    } catch (error) {
      const problem = formProblem(error);
      if (!problem) throw error;
      return enrolPage(ctx, values, problem.errors, problem.status);
    }
    const shown: ShownToken = { token: issued.token, expiresAt: issued.expiresAt.toISOString(), registrationEndpoint: issued.registrationEndpoint };
    const resultId = await results.keep(ctx.state.viewer as Viewer, RESULT_SUBJECT, shown);
    ctx.status = 303;
    ctx.redirect(`${ENROL_PATH}/token/${encodeURIComponent(resultId)}`);
  });

  router.get(`${ENROL_PATH}/token/:result`, ...page, async function showEnrolmentToken(ctx) {
    const shown = await results.read<ShownToken>(ctx.state.viewer as Viewer, RESULT_SUBJECT, param(ctx, 'result'));
    if (!shown) {
      return renderShownOnce(
        ctx,
        `This page is shown for ${RESULT_SECONDS / 60} minutes after the token was made, to the session that made it, and the token ` +
          'is not kept: it cannot be shown again. If it was not copied, withdraw it and make another.',
        { url: ENROL_PATH, label: 'Enrol a ChillFi3 server' },
      );
    }
    await renderPage(ctx, 'admin-instances-enrolled', {
      title: 'Enrolment token',
      token: shown.token,
      expiresAt: new Date(shown.expiresAt),
      registrationEndpoint: shown.registrationEndpoint,
      command: enrolCommand(config.issuer, shown.token),
      enrolUrl: ENROL_PATH,
    });
  });

  router.post(`${ENROL_PATH}/:id/withdraw`, ...action, async function withdrawEnrolmentToken(ctx) {
    await enrolmentOperations.withdraw(param(ctx, 'id'), webActor(ctx));
    doneThen(ctx, ENROL_PATH, 'Enrolment token withdrawn: no server can register with it any more.');
  });

  return router;
}
