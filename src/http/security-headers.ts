// helmet's response headers (CSP, frame and content-type options, HSTS, ...) on every response. Given static options
// helmet sets the same headers on every request, but it works them out again each time (one middleware per header,
// the CSP string rebuilt, and koa-helmet's promise around it): here helmet runs once, at start-up, and what it set
// and removed is replayed on each response. helmet stays the one place that decides what the headers are.
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';

/** Every directive and option must be static (no per-request functions, such as CSP nonces): it is asked once. */
export type StaticHelmetOptions = Readonly<HelmetOptions>;

interface HelmetOutput {
  set: [name: string, value: string | number | readonly string[]][];
  removed: string[];
}

/** What helmet sets and removes on a response. */
function helmetOutput(options: StaticHelmetOptions): HelmetOutput {
  const output: HelmetOutput = { set: [], removed: [] };
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      output.set.push([name, value]);
      return recorder;
    },
    removeHeader(name: string) {
      output.removed.push(name);
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return output;
}

export function securityHeaders(options: StaticHelmetOptions): Middleware {
  const { set, removed } = helmetOutput(options);
  return function setSecurityHeaders(ctx, next) {
    const { res } = ctx;
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    return next();
  };
}
