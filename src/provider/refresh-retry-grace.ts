// A refresh whose answer never reached the client (a node stopped mid-request, a connection cut behind a load
// balancer) leaves the client holding a refresh token that was already used. Presented again it is reuse, and the
// provider revokes the whole grant (lib/actions/grants/refresh_token.js): the user is signed out for a lost packet.
//
// Within REFRESH_RETRY_GRACE_SECONDS of a rotation, the token it used up is answered as a retry: the provider is handed
// the successor that rotation issued, in the token's place, and told not to rotate it (`rotateRefreshToken`, public
// configuration). The client gets that successor again, with a fresh access token. A retry issues no refresh token,
// so however many retries there are, on however many nodes, the grant's chain keeps the one successor the rotation
// issued; the provider's checks (client authentication, the token's client, its sender binding, its grant) run on the
// successor, which carries the same client, binding and grant as the token it replaced. Once that successor has been
// used in turn, handing it over is reuse again and the provider revokes as before; past the grace nothing is handed
// over. The record of each rotation (presented → issued, and until when) is kept for the grace alone.
//
// Not covered: a retry that reaches a node while the lost request is still running (it races the rotation and, like
// every concurrent reuse, revokes), and a node stopped between using up the token and storing its successor.
//
// Relied on beyond oidc-provider's public API, pinned by test/provider/refresh-retry-grace.test.ts (the retry is
// answered with the very successor the lost answer carried): a refresh that does not rotate answers with the
// `refresh_token` parameter it was given (lib/actions/grants/refresh_token.js), read from the form as the stages left
// it (lib/shared/selective_body.js, see src/http/oauth-form.ts); the mounted provider runs on this request's context,
// so what this stage puts in ctx.state reaches `rotateRefreshToken`; and the provider leaves its answer in ctx.body
// as an object for the stages around it to read.
import type { Context, Middleware, Next } from 'koa';
import type { Adapter, KoaContextWithOIDC } from 'oidc-provider';
import { isStoreFailure } from '../db/store-failure.js';
import { oauthForm } from '../http/oauth-form.js';

/** The model under which the store keeps the record of a rotation, keyed by the refresh token it used up. */
const ROTATION_MODEL = 'RefreshTokenRotation';

export interface RefreshRetryGraceOptions {
  /** The token endpoint's path. */
  path: string;
  /** REFRESH_RETRY_GRACE_SECONDS; 0 turns the stage into a pass-through. */
  graceSeconds: number;
  /** The oidc-provider adapter of a model, on the shared store (adapters/index.ts). */
  adapter: (model: string) => Adapter;
  /** Now, in epoch milliseconds. */
  now: () => number;
}

interface RetryState {
  refreshRetry?: boolean;
}

/** For `rotateRefreshToken`: this request hands over the successor of a retried refresh token, to be kept as it is. */
export function isRefreshRetry(ctx: KoaContextWithOIDC): boolean {
  return (ctx.state as RetryState).refreshRetry === true;
}

export function refreshRetryGrace({ path, graceSeconds, adapter, now }: RefreshRetryGraceOptions): Middleware {
  const rotations = adapter(ROTATION_MODEL);

  /** The refresh token issued for `used`, when it was issued less than the grace ago. */
  async function successorWithinGrace(used: string): Promise<string | undefined> {
    const rotation = await rotations.find(used);
    const { successor, until } = rotation ?? {};
    return typeof successor === 'string' && typeof until === 'number' && now() <= until ? successor : undefined;
  }

  return async function answerRefreshRetry(ctx: Context, next: Next) {
    const form = oauthForm(ctx);
    if (graceSeconds === 0 || ctx.method !== 'POST' || ctx.path !== path || form?.grant_type !== 'refresh_token') return next();
    const presented = form.refresh_token;
    if (typeof presented !== 'string') return next();

    const successor = await successorWithinGrace(presented);
    if (successor !== undefined) {
      form.refresh_token = successor;
      (ctx.state as RetryState).refreshRetry = true;
      return next();
    }

    await next();
    const issued = ctx.status === 200 ? (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token : undefined;
    if (typeof issued === 'string' && issued !== presented) {
      // Stored before the answer leaves, so a client can only retry after a rotation whose record is there. A store
      // that fails now still lets the answer go: the rotation happened, and its successor is the client's only way on.
      await rotations
        .upsert(presented, { successor: issued, until: now() + graceSeconds * 1000 }, graceSeconds)
        .catch((error: unknown) => {
          if (!isStoreFailure(error)) throw error;
        });
    }
  };
}
