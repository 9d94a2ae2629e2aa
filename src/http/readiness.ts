import type { Middleware } from 'koa';
import type { StoreProbe } from '../metrics/store-probe.js';

/**
 * GET /readyz: 200 when every store answers, 503 when one does not, naming it:
 * `{"status":"unavailable","checks":{"database":"ok","redis":"down"}}`. /healthz stays liveness (the process serves).
 */
export function readiness(probe: StoreProbe): Middleware {
  return async function ready(ctx) {
    const checks = await probe.check();
    const up = Object.values(checks).every((state) => state === 'ok');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = up ? 200 : 503;
    ctx.body = { status: up ? 'ok' : 'unavailable', checks };
  };
}
