// The console's front page: how many accounts (admins, disabled, locked out), instances and active signing keys there
// are, counted by the database, and the last day's failed sign-ins and lockouts from the audit trail, with links to
// each section and to the trail filtered the same way.
import Router from '@koa/router';
import type { AuditEvent } from '../audit/audit-event-entity.js';
import type { AuditFilter } from '../audit/audit-log.js';
import type { Services } from '../services.js';
import { AUDIT_PATH } from './admin-audit.js';
import { KEYS_PATH } from './admin-keys.js';
import { INSTANCES_PATH, USERS_PATH, userPath } from './console-paths.js';
import { ADMIN_CONSOLE_PREFIX, renderPage } from './page.js';
import type { WebGuards } from './web-session.js';

/** Entries of each recent list. */
const RECENT = 10;
const DAY_MS = 86_400_000;

/** A refused password sign-in (docs/operations.md, the audit trail). */
const FAILED_SIGN_INS: AuditFilter = { actions: ['login'], outcome: 'failure' };
/** A sign-in refused because the account was locked out after too many wrong passwords. */
const LOCKOUTS: AuditFilter = { ...FAILED_SIGN_INS, detail: { key: 'reason', value: 'locked' } };

export function adminDashboardPages(services: Services, guards: WebGuards): Router {
  const router = new Router();
  const { accounts, instances, keyOperations, audit } = services;

  router.get(ADMIN_CONSOLE_PREFIX, guards.signedIn, guards.admin, guards.csrf, async function showDashboard(ctx) {
    ctx.state.nav = 'dashboard';
    const since = new Date(Date.now() - DAY_MS);
    const [counts, instanceCount, keys, failed, lockouts] = await Promise.all([
      accounts.counts(),
      instances.count(),
      keyOperations.list(),
      audit.query({ ...FAILED_SIGN_INS, since, limit: RECENT }),
      audit.query({ ...LOCKOUTS, since, limit: RECENT }),
    ]);
    const named = await accounts.findMany([...new Set([...failed.events, ...lockouts.events].flatMap((event) => event.accountId ?? []))]);
    const usernames = new Map(named.map((account) => [account.id, account.username]));
    const shown = (event: AuditEvent) => ({
      ...event,
      username: event.accountId ? (usernames.get(event.accountId) ?? null) : null,
      userUrl: event.accountId && usernames.has(event.accountId) ? userPath(event.accountId) : null,
    });
    const failedQuery = new URLSearchParams({ action: 'login', outcome: 'failure', from: since.toISOString().slice(0, 10) });
    await renderPage(ctx, 'admin-dashboard', {
      title: 'Admin',
      counts: { ...counts, instances: instanceCount, activeKeys: keys.filter((key) => key.state === 'active').length },
      failed: failed.events.map(shown),
      lockouts: lockouts.events.map(shown),
      links: {
        users: USERS_PATH,
        instances: INSTANCES_PATH,
        audit: AUDIT_PATH,
        keys: KEYS_PATH,
        failed: `${AUDIT_PATH}?${failedQuery}`,
      },
    });
  });

  return router;
}
