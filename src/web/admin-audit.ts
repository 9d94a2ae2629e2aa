// The console's audit trail: the entries newest first, filtered like the CLI's `audit` (action, outcome, account by
// username or id, instance by client id or id, a range of days), a page at a time by the trail's own cursor, and the
// whole of the current filter as a CSV download, streamed a page at a time so that no export holds the trail in memory.
import { Readable } from 'node:stream';
import Router from '@koa/router';
import { stringify } from 'csv-stringify';
import type { Context } from 'koa';
import { z } from 'zod';
import { AuditQueryParams } from '../admin/admin-api-schemas.js';
import { AUDIT_ACTION_FAMILIES } from '../audit/audit-actions.js';
import type { AuditEvent } from '../audit/audit-event-entity.js';
import { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, type AuditFilter, type AuditPage } from '../audit/audit-log.js';
import { accountName, actedBy, actedByText, actorName, auditNames, detailFacts, type AuditNames } from '../audit/audit-reading.js';
import { accountNamed, idOf, instanceNamed } from '../cli/lookups.js';
import { withRenewedDeadline } from '../db/store-budget.js';
import type { Services } from '../services.js';
import { instancePath, userPath } from './console-paths.js';
import { formProblem, inputProblem } from './form-input.js';
import { ADMIN_CONSOLE_PREFIX, renderPage } from './page.js';
import type { WebGuards } from './web-session.js';

export const AUDIT_PATH = `${ADMIN_CONSOLE_PREFIX}/audit`;
const AUDIT_EXPORT_PATH = `${AUDIT_PATH}/export`;

const DAY_MS = 86_400_000;

/** The filter form as the query string carries it; an empty field is no condition. */
const AuditFilterForm = AuditQueryParams.pick({ action: true, outcome: true, cursor: true })
  .extend({
    /** Actions typed by name, besides the one picked: comma-separated, `token.*` for a family. */
    other: z.string().max(1000).optional(),
    user: z.string().max(100).optional(),
    instance: z.string().max(100).optional(),
    from: z.iso.date().optional(),
    to: z.iso.date().optional(),
  })
  .strict();

type AuditFilterValues = z.infer<typeof AuditFilterForm>;

const LABELS: Record<string, string> = {
  action: 'Action',
  other: 'Other actions',
  outcome: 'Outcome',
  user: 'Account',
  instance: 'Instance',
  from: 'From',
  to: 'To',
  cursor: 'Page',
};

/** The CSV's columns, in order. */
const CSV_COLUMNS = ['id', 'at', 'action', 'outcome', 'account_id', 'username', 'instance_id', 'instance', 'ip', 'user_agent', 'details', 'by'];

/** The picker's choices: each family's filter, then its actions. */
const ACTION_CHOICES = AUDIT_ACTION_FAMILIES.map(({ label, prefix, actions }) => ({
  label,
  options: [...(prefix ? [{ value: prefix, text: `Any of these (${prefix})` }] : []), ...actions.map((name) => ({ value: name, text: name }))],
}));
const KNOWN_CHOICES = new Set(ACTION_CHOICES.flatMap(({ options }) => options.map(({ value }) => value)));

/** Comma-separated action names as a list, the blanks left out. */
function actionNames(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/** The query string's fields, each a single string (the last of a repeated one), the empty ones left out. */
function filledIn(query: Context['query']): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last) fields[name] = last;
  }
  return fields;
}

/** The query string of a filter (the cursor only when given), for links to other pages and to the export. */
function filterQuery(values: Record<string, string | undefined>, cursor?: string): string {
  const fields = Object.entries(values).filter((entry): entry is [string, string] => entry[0] !== 'cursor' && Boolean(entry[1]));
  return new URLSearchParams(cursor ? [...fields, ['cursor', cursor]] : fields).toString();
}

function withQuery(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}

export function adminAuditPages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { audit, accounts, instances } = services;
  const page = [guards.signedIn, guards.admin, guards.csrf];
  router.use(function auditSection(ctx, next) {
    ctx.state.nav = 'audit';
    return next();
  });

  /** The form's values as the trail's filter: names become the ids the entries hold, days become times (UTC). */
  async function filterOf(values: AuditFilterValues): Promise<AuditFilter> {
    return {
      accountId: values.user ? await idOf(accountNamed(accounts, values.user.trim()), values.user.trim()) : undefined,
      instanceId: values.instance ? await idOf(instanceNamed(instances, values.instance.trim()), values.instance.trim()) : undefined,
      actions: [...actionNames(values.action), ...actionNames(values.other)],
      outcome: values.outcome,
      since: values.from ? new Date(`${values.from}T00:00:00Z`) : undefined,
      until: values.to ? new Date(new Date(`${values.to}T00:00:00Z`).getTime() + DAY_MS) : undefined,
    };
  }

  /** The page: the filter form with `values` as typed, then `found` (none when the filter was refused, with `error`). */
  async function auditPage(ctx: Context, values: Record<string, string | undefined>, found: AuditPage | null, error?: string, status = 200): Promise<void> {
    const query = filterQuery(values);
    const names = await auditNames(accounts, instances, found?.events ?? []);
    await renderPage(
      ctx,
      'admin-audit',
      {
        title: 'Audit trail',
        values,
        error,
        action: AUDIT_PATH,
        actionChoices: ACTION_CHOICES,
        // A filter typed elsewhere (a link, an older page) stays selectable as it is.
        typedAction: values.action && !KNOWN_CHOICES.has(values.action) ? values.action : null,
        events: (found?.events ?? []).map((event) => eventView(event, names)),
        olderUrl: found?.nextCursor ? withQuery(AUDIT_PATH, filterQuery(values, found.nextCursor)) : null,
        newestUrl: values.cursor ? withQuery(AUDIT_PATH, query) : null,
        exportUrl: withQuery(AUDIT_EXPORT_PATH, query),
        clearUrl: AUDIT_PATH,
      },
      status,
    );
  }

  router.get(AUDIT_PATH, ...page, async function showAudit(ctx) {
    const typed = filledIn(ctx.query);
    const form = AuditFilterForm.safeParse(typed);
    if (!form.success) return auditPage(ctx, typed, null, inputProblem(form.error, LABELS), 400);
    try {
      const found = await audit.query({ ...(await filterOf(form.data)), limit: DEFAULT_AUDIT_PAGE, cursor: form.data.cursor });
      await auditPage(ctx, form.data, found);
    } catch (error) {
      // A cursor this trail did not hand out: the filter stays, the paging starts over.
      const problem = formProblem(error);
      if (!problem) throw error;
      await auditPage(ctx, { ...form.data, cursor: undefined }, null, problem.message, problem.status);
    }
  });

  router.get(AUDIT_EXPORT_PATH, ...page, async function exportAudit(ctx) {
    const typed = filledIn(ctx.query);
    const form = AuditFilterForm.safeParse(typed);
    if (!form.success) return auditPage(ctx, typed, null, inputProblem(form.error, LABELS), 400);
    const filter = await filterOf(form.data);
    // The first page is read before the answer starts, so that a failing store still gets the error page.
    const first = await audit.query({ ...filter, limit: MAX_AUDIT_PAGE });
    async function* pages(): AsyncGenerator<string[]> {
      let found: AuditPage | null = first;
      while (found) {
        const events = found.events;
        // Each page waits on the stores within a request's bound of its own: the export as a whole has none.
        const names = await withRenewedDeadline(() => auditNames(accounts, instances, events));
        for (const event of events) yield csvRow(event, names);
        const cursor: string | null = found.nextCursor;
        found = cursor ? await withRenewedDeadline(() => audit.query({ ...filter, limit: MAX_AUDIT_PAGE, cursor })) : null;
      }
    }
    /**
     * The rows, and if a page fails once the answer has started (its status sent, 200), a last row that says so: HTTP
     * cannot take the status back, and a file that merely stops would look whole.
     */
    async function* rows(): AsyncGenerator<string[]> {
      let last: string | undefined;
      try {
        for await (const row of pages()) {
          last = row[1];
          yield row;
        }
      } catch (error) {
        ctx.app.emit('error', error, ctx);
        yield incompleteRow(last);
      }
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.set('Content-Disposition', `attachment; filename="chillfi3-audit-${stamp}Z.csv"`);
    ctx.set('Cache-Control', 'no-store');
    // escape_formulas: a cell a spreadsheet would run as a formula (= + - @, tab, CR first) starts with ' instead.
    const csv = stringify({ header: true, columns: CSV_COLUMNS, escape_formulas: true });
    const source = Readable.from(rows());
    source.on('error', (error) => csv.destroy(error));
    ctx.body = source.pipe(csv);
  });

  return router;
}

/** An entry as the page shows it: accounts and instances by name with links, who acted, the details as facts. */
function eventView(event: AuditEvent, names: AuditNames) {
  const instance = event.instanceId ? names.instances.get(event.instanceId) : undefined;
  const who = actedBy(event, names);
  return {
    ...event,
    accountName: event.accountId ? accountName(event.accountId, names) : null,
    userUrl: event.accountId && names.usernames.has(event.accountId) ? userPath(event.accountId) : null,
    instanceName: instance?.name ?? null,
    // The client id beside the name: names alone can look alike.
    instanceClientId: instance?.clientId ?? null,
    instanceUrl: instance ? instancePath(instance.id) : null,
    by: who && {
      name: actorName(who, names),
      url: who.username && who.accountId ? userPath(who.accountId) : null,
      via: who.via,
    },
    facts: detailFacts(event),
  };
}

/** The first cell of the last row of an export that could not be read to its end (docs/operations.md). */
export const EXPORT_INCOMPLETE = 'EXPORT INCOMPLETE';

/** The row that ends an export cut short: what happened, and how to get the rest. */
function incompleteRow(lastAt: string | undefined): string[] {
  const where = lastAt ? `after the entry of ${lastAt}` : 'before the first entry';
  const rest = lastAt ? `; export again with "To" set to ${lastAt.slice(0, 10)} for the rest` : '; export again';
  return [`${EXPORT_INCOMPLETE}: the audit trail could not be read ${where}${rest}`, ...CSV_COLUMNS.slice(1).map(() => '')];
}

function csvRow(event: AuditEvent, names: AuditNames): string[] {
  const who = actedBy(event, names);
  return [
    event.id,
    event.at.toISOString(),
    event.action,
    event.outcome,
    event.accountId ?? '',
    event.accountId ? (names.usernames.get(event.accountId) ?? '') : '',
    event.instanceId ?? '',
    event.instanceId ? (names.instances.get(event.instanceId)?.name ?? '') : '',
    event.ip ?? '',
    event.userAgent ?? '',
    event.details ? JSON.stringify(event.details) : '',
    who ? actedByText(who, names) : '',
  ];
}
