// Requests in loops while a test kills a process, recorded one by one: what each kind of request got, how long it
// took, and when. The summary is what the operations notes report for each kill: failures per kind and the longest
// stretch without a success.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Outcome {
  kind: string;
  status: number;
  /** Start and end, in ms on performance.now(). */
  startedAt: number;
  endedAt: number;
  /** The error code of a failed answer (OAuth `error`), or the network error's message when there was no answer. */
  error: string | undefined;
  body: string;
}

/** One request of a kind: its status and body, or a thrown error (no answer). */
export type Attempt = () => Promise<{ status: number; body: string }>;

export interface LoadSummary {
  /** Per kind: requests, successes (2xx), failures by status (0: no answer), longest stretch without a success (ms). */
  kinds: Record<string, { requests: number; ok: number; failed: Record<string, number>; longestGapMs: number }>;
  /** The slowest answer, ms. */
  slowestMs: number;
}

export interface RunningLoad {
  readonly outcomes: readonly Outcome[];
  /** Ends the loops after their requests in flight; resolves with every outcome. */
  stop(): Promise<Outcome[]>;
  /** Resolves once every kind has had `count` successes in a row after `since` (performance.now() ms). */
  recovered(since: number, count: number, timeoutMs: number): Promise<void>;
}

/**
 * Runs each attempt in `loops` loops until stopped; no request waits longer than `giveUpMs` (recorded as status 0,
 * "no answer"), so a hang shows as a failure instead of stalling the test.
 */
export function startLoad(attempts: Record<string, Attempt>, { loops = 2, giveUpMs = 10_000 }: { loops?: number; giveUpMs?: number } = {}): RunningLoad {
  const outcomes: Outcome[] = [];
  let stopped = false;
  async function loop(kind: string, attempt: Attempt): Promise<void> {
    while (!stopped) {
      const startedAt = performance.now();
      let outcome: Omit<Outcome, 'kind' | 'startedAt' | 'endedAt'>;
      try {
        const { status, body } = await Promise.race([
          attempt(),
          sleep(giveUpMs).then(() => Promise.reject(new Error(`no answer within ${giveUpMs} ms`))),
        ]);
        let error: string | undefined;
        if (status >= 300) {
          try {
            error = (JSON.parse(body) as { error?: string }).error;
          } catch {
            error = body.slice(0, 80);
          }
        }
        outcome = { status, error, body };
      } catch (caught) {
        outcome = { status: 0, error: (caught as Error).message, body: '' };
      }
      outcomes.push({ kind, startedAt, endedAt: performance.now(), ...outcome });
      // A failing store answers at once: a short pause keeps a loop from spinning on its own 503s.
      if (outcome.status >= 300 || outcome.status === 0) await sleep(20);
    }
  }
  const running = Object.entries(attempts).flatMap(([kind, attempt]) => Array.from({ length: loops }, () => loop(kind, attempt)));
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(running);
      return outcomes;
    },
    async recovered(since, count, timeoutMs) {
      const end = performance.now() + timeoutMs;
      for (;;) {
        const done = Object.keys(attempts).every((kind) => {
          const after = outcomes.filter((outcome) => outcome.kind === kind && outcome.startedAt > since);
          const tail = after.slice(-count);
          return tail.length === count && tail.every((outcome) => outcome.status >= 200 && outcome.status < 300);
        });
        if (done) return;
        if (performance.now() > end) throw new Error(`no recovery within ${timeoutMs} ms: ${JSON.stringify(summarize(outcomes))}`);
        await sleep(50);
      }
    },
  };
}

/** Failures per kind and status, and the longest time each kind went without a success (from a success's end to the next one's end). */
export function summarize(outcomes: readonly Outcome[]): LoadSummary {
  const kinds: LoadSummary['kinds'] = {};
  for (const kind of new Set(outcomes.map((outcome) => outcome.kind))) {
    const mine = outcomes.filter((outcome) => outcome.kind === kind).sort((a, b) => a.endedAt - b.endedAt);
    const failed: Record<string, number> = {};
    let lastSuccess = mine[0]?.startedAt ?? 0;
    let longestGapMs = 0;
    for (const outcome of mine) {
      if (outcome.status >= 200 && outcome.status < 300) {
        longestGapMs = Math.max(longestGapMs, outcome.endedAt - lastSuccess);
        lastSuccess = outcome.endedAt;
      } else {
        failed[outcome.status] = (failed[outcome.status] ?? 0) + 1;
      }
    }
    kinds[kind] = { requests: mine.length, ok: mine.filter((o) => o.status >= 200 && o.status < 300).length, failed, longestGapMs: Math.round(longestGapMs) };
  }
  const slowestMs = Math.round(Math.max(0, ...outcomes.map((outcome) => outcome.endedAt - outcome.startedAt)));
  return { kinds, slowestMs };
}
