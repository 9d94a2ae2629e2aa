// GET /revocations: an instance's revocation stream (Server-Sent Events). The instance authenticates as at the token
// endpoint (HTTP Basic with its client id and secret, checked by the client-endpoint stages, src/http/client-endpoints.ts,
// with their failure limits, allowlist and budget) and hears only what concerns it (src/revocations/revocation-feed.ts):
// its tokens and grants revoked, its users' sessions ended, accounts disabled or deleted, access links changed or
// removed, its own secret rotated, and the signing keys changed. `Last-Event-ID` resumes after the last event heard;
// a comment line every HEARTBEAT_MS keeps proxies from closing a quiet stream. Errors are RFC 6750-style JSON.
import type { Context, Middleware, Next } from 'koa';
import type { RevocationEvent } from '../revocations/revocation-event-entity.js';
import type { RevocationFeed } from '../revocations/revocation-feed.js';
import { clientCallOf } from './client-call.js';

export const REVOCATIONS_PATH = '/revocations';
export const HEARTBEAT_MS = 15_000;
/** How long the browser-style client waits before reconnecting (the SDK has its own backoff). */
const RETRY_MS = 2000;
/** Delivered ids a stream remembers, to send none twice between its replay and the live events. */
const REMEMBERED_IDS = 10_000;

export interface RevocationStreamDependencies {
  feed: RevocationFeed;
  heartbeatMs?: number;
}

function refuse(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  if (status === 401) ctx.set('WWW-Authenticate', `Basic realm="chillfi3-auth", error="${error}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

/** Last-Event-ID as a whole number, undefined when absent, null when it is not one. */
function lastEventId(ctx: Context): number | undefined | null {
  const header = ctx.get('last-event-id');
  if (header === '') return undefined;
  return /^\d{1,15}$/.test(header) ? Number(header) : null;
}

/** One event in the stream's wire format: its id, type, and what it is about as JSON. */
export function formatEvent(event: RevocationEvent): string {
  const data = { type: event.type, at: event.at.toISOString(), ...event.details };
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function revocationStream({ feed, heartbeatMs = HEARTBEAT_MS }: RevocationStreamDependencies): Middleware {
  return async function answerRevocationStream(ctx: Context, next: Next) {
    if (ctx.path !== REVOCATIONS_PATH) return next();
    if (ctx.method !== 'GET') {
      ctx.set('Allow', 'GET');
      return refuse(ctx, 405, 'invalid_request', 'the revocation stream is read with GET');
    }
    const call = clientCallOf(ctx);
    if (!call) return refuse(ctx, 401, 'invalid_client', 'client authentication is required (HTTP Basic with the client id and secret)');
    if (!call.found || (call.verdict !== 'valid' && call.verdict !== 'previous')) {
      return refuse(ctx, 401, 'invalid_client', 'client authentication failed');
    }
    const clientId = call.found.instance.clientId;
    const asked = ctx.query.client_id;
    if (asked !== undefined && asked !== clientId) {
      return refuse(ctx, 403, 'access_denied', "an instance hears its own revocations only, never another instance's");
    }
    const after = lastEventId(ctx);
    if (after === null) return refuse(ctx, 400, 'invalid_request', 'Last-Event-ID must be the id of an event of this stream');
    await stream(ctx, feed, clientId, after, heartbeatMs);
  };
}

async function stream(ctx: Context, feed: RevocationFeed, clientId: string, after: number | undefined, heartbeatMs: number): Promise<void> {
  const sent = new Set<number>();
  const pending: RevocationEvent[] = [];
  let replaying = true;
  const { res } = ctx;
  const send = (event: RevocationEvent) => {
    if (sent.has(event.id)) return;
    sent.add(event.id);
    if (sent.size > REMEMBERED_IDS) sent.delete(sent.values().next().value as number);
    res.write(formatEvent(event));
  };
  // Live events first (held while the replay runs), so that none falls between the replay and the subscription.
  const unsubscribe = await feed.subscribe((event) => {
    if (event.clientId !== null && event.clientId !== clientId) return;
    if (replaying) pending.push(event);
    else send(event);
  });
  let heartbeat: NodeJS.Timeout | undefined;
  let forget: () => unknown = () => undefined;
  const end = () => {
    unsubscribe();
    clearInterval(heartbeat);
    forget();
  };
  try {
    const replay: RevocationEvent[] = [];
    let reset = false;
    // A new stream starts at the latest event: its id, sent first, is what a reconnection resumes after.
    const start = after === undefined ? await feed.latestId() : undefined;
    if (after !== undefined) {
      const oldest = await feed.oldestId();
      // Events after `after` were deleted (older than the retention): the instance must drop all it cached.
      reset = oldest !== null && oldest > after + 1;
      for (let cursor = after; ; ) {
        const page = await feed.since(clientId, cursor);
        replay.push(...page);
        if (page.length === 0 || page.length < 500) break;
        cursor = page.at(-1)!.id;
      }
    }
    ctx.respond = false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // nginx: pass events on as they come.
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n: connected as ${clientId}\n${start === undefined ? '' : `id: ${start}\n`}\n`);
    if (reset) res.write('event: reset\ndata: {"type":"reset"}\n\n');
    for (const event of replay) send(event);
    replaying = false;
    for (const event of pending.splice(0)) send(event);
    heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    res.on('close', end);
    forget = feed.onStop(() => res.end());
  } catch (error) {
    end();
    throw error;
  }
}
