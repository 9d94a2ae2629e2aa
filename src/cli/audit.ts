// `chillfi3-auth audit ...`: the audit trail from a shell: a page of it (newest first), following it as it grows, and
// pruning it by age.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { AuditEvent, AuditOutcome } from '../audit/audit-event-entity.js';
import { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, type AuditFilter } from '../audit/audit-log.js';
import { accountName, actedBy, actedByText, auditNames, detailFacts, type AuditNames } from '../audit/audit-reading.js';
import { AuditRetention } from '../audit/audit-retention.js';
import type { Stores } from '../stores.js';
import type { CliContext, CliIo } from './context.js';
import { accountNamed, idOf, instanceNamed } from './lookups.js';
import { printed, wantsJson } from './output.js';

/** How often --follow asks for new entries. */
const FOLLOW_POLL_MS = 1000;
/**
 * How far back each poll of --follow looks again: an entry is stamped when it is written but may commit a little later
 * than one stamped after it, so a poll that only looked past the newest entry seen could miss it.
 */
const FOLLOW_OVERLAP_MS = 10_000;
const RELATIVE_TIME = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

interface AuditOptions {
  user?: string;
  instance?: string;
  action?: string[];
  outcome?: AuditOutcome;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: string;
  follow?: boolean;
}

/** `audit prune` says how far it got after every this many entries. */
const PRUNE_PROGRESS_EVERY = 100_000;

export function addAuditCommand(program: Command, context: CliContext): void {
  const audit = program.command('audit').description('The audit trail: sign-ins, tokens, revocations, account and access changes.');

  audit
    .command('list', { isDefault: true })
    .summary('Show audit entries, newest first (also: "audit" alone).')
    .description(
      'Show audit entries, newest first, a page at a time: the last line names the --cursor of the next page. ' +
        'With --follow, the newest entries oldest first, then each new one as it is written, until Ctrl-C ' +
        '(or --until); with --json, one JSON object per line.',
    )
    .option('--user <user>', 'entries about this account: id or username (a deleted account: its id)')
    .option('--instance <instance>', 'entries about this instance: id or client id')
    .option('--action <names>', 'these actions, comma-separated or repeated; "token.*" is every action starting with "token."', collectActions)
    .option('--outcome <outcome>', 'success or failure', parseOutcome)
    .option('--since <time>', 'at or after: an ISO 8601 time, or a time ago (30m, 24h, 7d)', parseTime)
    .option('--until <time>', 'before: an ISO 8601 time, or a time ago (30m, 24h, 7d)', parseTime)
    .option('--limit <n>', `entries per page, 1 to ${MAX_AUDIT_PAGE}`, parseLimit, DEFAULT_AUDIT_PAGE)
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .option('--follow', 'keep printing new entries as they are written')
    .action(async function listAudit(this: Command, options: AuditOptions) {
      await context.withStores(async (stores) => {
        const filter = await filterFrom(stores, options);
        if (options.follow) return follow(stores, filter, options, context.io, wantsJson(this));
        const page = await stores.audit.query({ ...filter, limit: options.limit, cursor: options.cursor });
        const names = await auditNames(stores.accounts, stores.instances, page.events);
        const lines = page.events.length === 0 ? ['No audit entries.'] : page.events.map((event) => entryLine(event, names));
        if (page.nextCursor) lines.push(`More: --cursor ${page.nextCursor}`);
        context.io.stdout.write(wantsJson(this) ? `${JSON.stringify(page, null, 2)}\n` : `${lines.join('\n')}\n`);
      });
    });

  audit
    .command('prune')
    .description('Delete the entries older than AUDIT_RETENTION_DAYS (a running server also does so every hour).')
    .option('--days <n>', 'keep this many days instead of AUDIT_RETENTION_DAYS (0: keep everything)', parseDays)
    .action(
      printed(context.io, (options: { days?: number }) =>
        context.withStores(async (stores) => {
          const retention = new AuditRetention(stores.audit, options.days ?? stores.config.auditRetentionDays);
          const before = retention.cutoff();
          // Progress on stderr as the batches go (a large backlog takes a while), the total on stdout at the end.
          let reported = 0;
          const deleted = await retention.pruneNow(new Date(), (sofar) => {
            if (sofar - reported < PRUNE_PROGRESS_EVERY) return;
            reported = sofar;
            context.io.stderr.write(`deleted ${sofar} so far...\n`);
          });
          const lines = before
            ? [`Deleted ${deleted} audit ${deleted === 1 ? 'entry' : 'entries'} older than ${before.toISOString()} (${retention.days} days).`]
            : ['Audit entries are kept forever (0 days): nothing deleted.'];
          return { json: { deleted, before: before ?? null, days: retention.days }, lines };
        }),
      ),
    );
}

/** The query's conditions, with a username or client id turned into the id the entries hold. */
async function filterFrom({ accounts, instances }: Stores, options: AuditOptions): Promise<AuditFilter> {
  return {
    accountId: options.user === undefined ? undefined : await idOf(accountNamed(accounts, options.user), options.user),
    instanceId: options.instance === undefined ? undefined : await idOf(instanceNamed(instances, options.instance), options.instance),
    actions: options.action,
    outcome: options.outcome,
    since: options.since,
    until: options.until,
  };
}

/**
 * Prints the newest `limit` entries oldest first, then every new one as it is written, polling, until SIGINT or
 * `until`. Each poll looks FOLLOW_OVERLAP_MS behind the newest entry seen; entries are told apart by id, so the overlap
 * prints nothing twice, and what was already there at the start (beyond the first page) is never printed.
 */
async function follow(stores: Stores, filter: AuditFilter, options: AuditOptions, io: CliIo, json: boolean): Promise<void> {
  const { audit } = stores;
  const started = Date.now();
  let newest = started;
  const seen = new Map<string, number>();
  const show = async (events: AuditEvent[], print: boolean) => {
    const fresh = events.filter((candidate) => !seen.has(candidate.id)).reverse();
    const names = print && !json ? await auditNames(stores.accounts, stores.instances, fresh) : null;
    for (const event of fresh) {
      seen.set(event.id, event.at.getTime());
      newest = Math.max(newest, event.at.getTime());
      if (print) io.stdout.write(`${names ? entryLine(event, names) : JSON.stringify(event)}\n`);
    }
  };
  const everySince = async (since: Date) => {
    const events: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit.query({ ...filter, since: new Date(Math.max(since.getTime(), filter.since?.getTime() ?? 0)), limit: MAX_AUDIT_PAGE, cursor });
      events.push(...page.events);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return events;
  };
  await show((await audit.query({ ...filter, limit: options.limit })).events, true);
  await show(await everySince(new Date(started - FOLLOW_OVERLAP_MS)), false);

  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  try {
    while (options.until === undefined || Date.now() < options.until.getTime()) {
      try {
        await sleep(FOLLOW_POLL_MS, undefined, { signal: stop.signal });
      } catch {
        break; // SIGINT
      }
      const since = new Date(newest - FOLLOW_OVERLAP_MS);
      await show(await everySince(since), true);
      for (const [id, at] of seen) if (at < since.getTime()) seen.delete(id);
    }
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/**
 * One entry on one line: time, action, outcome, the account by username, who acted, which instance by name, from
 * where, then its details (an update's changed fields before → after).
 */
function entryLine(event: AuditEvent, names: AuditNames): string {
  const who = actedBy(event, names);
  const instance = event.instanceId ? names.instances.get(event.instanceId) : undefined;
  const facts = [
    event.at.toISOString(),
    event.action,
    event.outcome,
    `account=${event.accountId ? accountName(event.accountId, names) : '-'}`,
    ...(who ? [`by=${actedByText(who, names)}`] : []),
    `instance=${instance ? `${instance.name} (${instance.clientId})` : (event.instanceId ? `${event.instanceId} (deleted)` : '-')}`,
    `ip=${event.ip ?? '-'}`,
    ...detailFacts(event),
  ];
  return facts.join('  ');
}

function collectActions(value: string, previous: string[] = []): string[] {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('give at least one action name');
  return [...previous, ...names];
}

function parseOutcome(value: string): AuditOutcome {
  if (value !== 'success' && value !== 'failure') throw new InvalidArgumentError('give success or failure');
  return value;
}

function parseTime(value: string): Date {
  const ago = RELATIVE_TIME.exec(value);
  const time = ago ? new Date(Date.now() - Number(ago[1]) * (UNIT_MS[ago[2] as string] ?? 0)) : new Date(value);
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError('give an ISO 8601 time (2025-01-31T12:00:00Z) or a time ago (30m, 24h, 7d)');
  return time;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) throw new InvalidArgumentError(`give a whole number from 1 to ${MAX_AUDIT_PAGE}`);
  return limit;
}

function parseDays(value: string): number {
  const days = Number(value);
  if (!Number.isInteger(days) || days < 0 || days > 36_500) throw new InvalidArgumentError('give a whole number of days from 0 to 36500');
  return days;
}
