// The console's instances pages: the list, registering one (its client secret shown once, with the .env block a
// ChillFi3 server needs), its settings, rotating its secret and deleting it. Every change is an InstanceOperations call
// (audited, ending what must end) with the admin API's zod schema checking the input. A new secret is shown on a page
// of its own that the POST redirects to (src/web/one-time-results.ts), so that a reload never registers or rotates
// again.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { param, queryInput } from '../admin/admin-routes.js';
import type { Instance } from '../instances/instance-entity.js';
import { SECRET_METHODS } from '../instances/instance-store.js';
import type { Services } from '../services.js';
import { doneThen } from './console-actions.js';
import { INSTANCES_PATH, instanceAccessPath, instancePath } from './console-paths.js';
import { formProblem, type FormErrors, NO_FORM_ERRORS, webActor } from './form-input.js';
import {
  chillfi3InstanceForm,
  INSTANCE_FORM_CHOICES,
  instanceFieldOf,
  instanceFormValues,
  instanceInput,
  type InstanceFormValues,
  instanceWarnings,
  NEW_INSTANCE_FORM,
  readInstanceForm,
} from './instance-form.js';
import { OneTimeResults, renderShownOnce, RESULT_SECONDS } from './one-time-results.js';
import { ADMIN_CONSOLE_PREFIX, renderPage } from './page.js';
import type { Viewer, WebGuards } from './web-session.js';

/** Instances per page of the list. */
const INSTANCES_PAGE_SIZE = 25;

const ListQuery = z.strictObject({ page: z.coerce.number<string>().int().min(1).max(1_000_000).optional() });

/**
 * What a ChillFi3 server puts in its server/.env to sign in through this server (docs/chillfi3.md, step 4; the
 * variables the SDK's fromEnv() reads, docs/sdk.md).
 */
function chillfi3Env(issuer: string, clientId: string, clientSecret: string | null): string {
  return [
    `AUTH_SERVER_URL=${issuer}`,
    `AUTH_API_KEY=${clientId}`,
    ...(clientSecret === null ? [] : [`AUTH_API_SECRET=${clientSecret}`]),
    '# the rollout switch (docs/chillfi3.md): false keeps its own tokens; true signs in here,',
    '# its old tokens accepted while AUTH_LEGACY_TOKENS allows (on, or until a date)',
    'USE_REMOTE_AUTH=true',
    '# optional',
    'AUTH_CACHE_TTL=300',
    'AUTH_TIMEOUT=5000',
    'AUTH_REVOCATION_STREAM=on',
  ].join('\n');
}

/** What the secret page shows, kept between the POST that made the secret and the page (one-time-results.ts). */
interface ShownSecret {
  heading: string;
  clientSecret: string | null;
  /** ISO time. */
  previousSecretExpiresAt: string | null;
  /** What the form accepted but warns of (instanceWarnings). */
  warnings: string[];
}

/** What first run's "Register an example instance" fills the form with: the example instance of README.md, on this machine. */
const EXAMPLE_INSTANCE = { name: 'Example', address: 'http://127.0.0.1:4000', skipConsent: true } as const;

/** The register form's query: `example=chillfi3` (EXAMPLE_INSTANCE_FORM_PATH) fills it for the example instance. */
const NewFormQuery = z.strictObject({ example: z.literal('chillfi3').optional() });

/** Where the secret an action made is shown, under the result's id. */
function shownSecretPath(instanceId: string, resultId: string): string {
  return `${instancePath(instanceId)}/secret/${encodeURIComponent(resultId)}`;
}

function hasSecret(instance: Instance): boolean {
  return SECRET_METHODS.includes(instance.tokenEndpointAuthMethod);
}

export function adminInstancePages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { instances, instanceOperations, config } = services;
  const page = [guards.signedIn, guards.admin, guards.csrf];
  const action = [guards.signedIn, guards.admin, guards.form, guards.csrf];
  const freshPage = [guards.signedIn, guards.admin, guards.fresh, guards.csrf];
  const freshAction = [guards.signedIn, guards.admin, guards.fresh, guards.form, guards.csrf];
  const results = new OneTimeResults(services.oidcStore, services.secrets);
  router.use(function instancesSection(ctx, next) {
    ctx.state.nav = 'instances';
    return next();
  });

  function instanceOf(ctx: Context): Promise<Instance> {
    return instances.get(param(ctx, 'id'));
  }

  /** The form's answer to an operation that refused its input; null when the error is not a refusal of the input. */
  function refusal(error: unknown): { errors: FormErrors; status: number } | null {
    return formProblem(error, instanceFieldOf);
  }

  function newForm(ctx: Context, values: InstanceFormValues, errors: FormErrors = NO_FORM_ERRORS, status = 200): Promise<void> {
    return renderPage(
      ctx,
      'admin-instances-new',
      { title: 'Register an instance', values, errors, register: true, choices: INSTANCE_FORM_CHOICES, action: INSTANCES_PATH, cancelUrl: INSTANCES_PATH },
      status,
    );
  }

  function instancePage(ctx: Context, instance: Instance, edit: { values?: InstanceFormValues; errors?: FormErrors } = {}, status = 200): Promise<void> {
    const url = instancePath(instance.id);
    return renderPage(
      ctx,
      'admin-instances-show',
      {
        title: instance.name,
        instance,
        hasSecret: hasSecret(instance),
        values: edit.values ?? instanceFormValues(instance),
        errors: edit.errors ?? NO_FORM_ERRORS,
        warnings: instanceWarnings(instance.redirectUris),
        choices: INSTANCE_FORM_CHOICES,
        action: url,
        cancelUrl: url,
        accessUrl: instanceAccessPath(instance.id),
        rotateUrl: `${url}/secret`,
        deleteUrl: `${url}/delete`,
        auditUrl: `${ADMIN_CONSOLE_PREFIX}/audit?${new URLSearchParams({ instance: instance.clientId })}`,
        instancesUrl: INSTANCES_PATH,
      },
      status,
    );
  }

  /** Ends an action that made a secret: kept for its page (one-time-results.ts), the browser sent there with 303. */
  async function showSecretOnce(ctx: Context, instance: Instance, shown: ShownSecret): Promise<void> {
    const resultId = await results.keep(ctx.state.viewer as Viewer, `instance:${instance.id}`, shown);
    ctx.status = 303;
    ctx.redirect(shownSecretPath(instance.id, resultId));
  }

  function confirm(ctx: Context, instance: Instance, locals: { title: string; consequences: string[]; action: string; confirmLabel: string }): Promise<void> {
    return renderPage(ctx, 'admin-instances-confirm', { ...locals, instance, cancelUrl: instancePath(instance.id) });
  }

  router.get(INSTANCES_PATH, ...page, async function listInstances(ctx) {
    const { page: pageNumber = 1 } = queryInput(ctx, ListQuery);
    const found = await instances.list({ limit: INSTANCES_PAGE_SIZE + 1, offset: (pageNumber - 1) * INSTANCES_PAGE_SIZE });
    const pageUrl = (n: number) => `${INSTANCES_PATH}?${new URLSearchParams({ page: String(n) })}`;
    await renderPage(ctx, 'admin-instances', {
      title: 'Instances',
      instances: found.slice(0, INSTANCES_PAGE_SIZE).map((instance) => ({ ...instance, url: instancePath(instance.id) })),
      pageNumber,
      previousUrl: pageNumber > 1 ? pageUrl(pageNumber - 1) : null,
      nextUrl: found.length > INSTANCES_PAGE_SIZE ? pageUrl(pageNumber + 1) : null,
      newUrl: `${INSTANCES_PATH}/new`,
      enrolUrl: `${INSTANCES_PATH}/enrol`,
    });
  });

  router.get(`${INSTANCES_PATH}/new`, ...page, async function newInstanceForm(ctx) {
    const { example } = queryInput(ctx, NewFormQuery);
    await newForm(ctx, example ? chillfi3InstanceForm(EXAMPLE_INSTANCE) : NEW_INSTANCE_FORM);
  });

  router.post(INSTANCES_PATH, ...action, async function registerInstance(ctx) {
    const values = readInstanceForm((ctx.request.body ?? {}) as Record<string, unknown>);
    const read = instanceInput(values);
    if ('errors' in read) return newForm(ctx, values, read.errors, 400);
    let created;
    try {
      created = await instanceOperations.create({ ...read.input, redirectUris: read.input.redirectUris ?? [] }, webActor(ctx));
    } catch (error) {
      const problem = refusal(error);
      if (!problem) throw error;
      return newForm(ctx, values, problem.errors, problem.status);
    }
    await showSecretOnce(ctx, created.instance, {
      heading: `${created.instance.name} is registered`,
      clientSecret: created.clientSecret,
      previousSecretExpiresAt: null,
      warnings: instanceWarnings(created.instance.redirectUris),
    });
  });

  router.get(`${INSTANCES_PATH}/:id`, ...page, async function showInstance(ctx) {
    await instancePage(ctx, await instanceOf(ctx));
  });

  router.post(`${INSTANCES_PATH}/:id`, ...action, async function updateInstance(ctx) {
    const instance = await instanceOf(ctx);
    const values = readInstanceForm((ctx.request.body ?? {}) as Record<string, unknown>);
    // The form sends every field, so it is read as a whole (InstanceCreate) and saved as the change of all of them.
    const read = instanceInput(values);
    if ('errors' in read) return instancePage(ctx, instance, { values, errors: read.errors }, 400);
    let updated;
    try {
      updated = await instanceOperations.update(instance.id, read.input, webActor(ctx));
    } catch (error) {
      const problem = refusal(error);
      if (!problem) throw error;
      return instancePage(ctx, instance, { values, errors: problem.errors }, problem.status);
    }
    // A move to a secret method gives the instance its first secret: shown once, like at registration.
    if (updated.clientSecret === null) return doneThen(ctx, instancePath(instance.id), `${values.name.trim()} saved.`);
    await showSecretOnce(ctx, updated.instance, {
      heading: `${updated.instance.name} has a client secret now`,
      clientSecret: updated.clientSecret,
      previousSecretExpiresAt: null,
      warnings: instanceWarnings(updated.instance.redirectUris),
    });
  });

  router.get(`${INSTANCES_PATH}/:id/secret/:result`, ...page, async function showSecret(ctx) {
    const instance = await instanceOf(ctx);
    const shown = await results.read<ShownSecret>(ctx.state.viewer as Viewer, `instance:${instance.id}`, param(ctx, 'result'));
    if (!shown) {
      return renderShownOnce(
        ctx,
        `This page is shown for ${RESULT_SECONDS / 60} minutes after the change that made it, to the session that made it, and its ` +
          'client secret is not kept: it cannot be shown again. ' +
          (hasSecret(instance) ? `If it was not copied, rotate the secret of ${instance.name} for a new one.` : `The client id is on the page of ${instance.name}.`),
        { url: instancePath(instance.id), label: `Go to ${instance.name}` },
      );
    }
    const previousSecretExpiresAt = shown.previousSecretExpiresAt === null ? null : new Date(shown.previousSecretExpiresAt);
    await renderPage(ctx, 'admin-instances-secret', {
      title: shown.heading,
      heading: shown.heading,
      instance,
      clientSecret: shown.clientSecret,
      previousSecretExpiresAt,
      warnings: shown.warnings ?? [],
      env: chillfi3Env(config.issuer, instance.clientId, shown.clientSecret),
      instanceUrl: instancePath(instance.id),
    });
  });

  router.get(`${INSTANCES_PATH}/:id/secret`, ...freshPage, async function confirmRotateSecret(ctx) {
    const instance = await instanceOf(ctx);
    const grace = config.clientSecretGraceSeconds;
    await confirm(ctx, instance, {
      title: `Rotate the secret of ${instance.name}?`,
      consequences: [
        `${instance.name} gets a new client secret, shown once on the next page: copy it into the server's .env then.`,
        grace > 0
          ? `The current secret keeps working for ${graceText(grace)}, time to restart the server with the new one; then it stops.`
          : 'The current secret stops working at once.',
      ],
      action: `${instancePath(instance.id)}/secret`,
      confirmLabel: 'Rotate secret',
    });
  });

  router.post(`${INSTANCES_PATH}/:id/secret`, ...freshAction, async function rotateSecret(ctx) {
    const instance = await instanceOf(ctx);
    const rotated = await instanceOperations.rotateSecret(instance.id, webActor(ctx));
    await showSecretOnce(ctx, rotated.instance, {
      heading: `New secret for ${instance.name}`,
      clientSecret: rotated.clientSecret,
      previousSecretExpiresAt: rotated.previousSecretExpiresAt?.toISOString() ?? null,
      warnings: [],
    });
  });

  router.get(`${INSTANCES_PATH}/:id/delete`, ...freshPage, async function confirmDeleteInstance(ctx) {
    const instance = await instanceOf(ctx);
    await confirm(ctx, instance, {
      title: `Delete ${instance.name}?`,
      consequences: [
        `Everyone signed in to ${instance.name} is signed out of it, and every token it was given stops working.`,
        'Its list of who may use it, with their roles and local ids, is deleted with it.',
        'This cannot be undone: registering it again gives it a new client id and secret.',
      ],
      action: `${instancePath(instance.id)}/delete`,
      confirmLabel: 'Delete instance',
    });
  });

  router.post(`${INSTANCES_PATH}/:id/delete`, ...freshAction, async function deleteInstance(ctx) {
    const instance = await instanceOf(ctx);
    const ended = await instanceOperations.delete(instance.id, webActor(ctx));
    doneThen(ctx, INSTANCES_PATH, `${instance.name} deleted: ${ended.sessions} session(s) ended, ${ended.grants} grant(s) revoked.`);
  });

  return router;
}

/** A grace period as people say it: "2 hours", "1 day", "90 seconds". */
function graceText(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds % size === 0) return `${seconds / size} ${unit}${seconds === size ? '' : 's'}`;
  }
  return `${seconds} seconds`;
}
