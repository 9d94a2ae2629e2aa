// The endpoints where instances authenticate themselves (token, introspection, revocation, pushed authorization
// requests) and the stages that run before oidc-provider on them, in this order (like the provider's own stage tables):
//
//   1. readForm             the form, read once (413 past the provider's own limit) and handed to the provider as its
//                           supported pre-parsed body, so the stages below and the provider see the same parameters
//                           (userinfo's form too, for the access token stage in provider/access-token-registry.ts)
//   2. identifyClient       which instance the credentials name, and whether they are its own (client-credentials.ts);
//                           a secret proven to be the previous one within its grace is replaced by the current one
//   3. limitFailures        429 for an address, or an address and instance, over its failed-authentication budget;
//                           a wrong credential is counted before anything is answered, any other invalid_client after;
//                           an instance's own credentials are held to that instance's budget only, not the address's
//   4. enforceAllowlist     401 invalid_client for an instance calling from outside its IP allowlist
//   5. chargeBudget         the instance's per-minute budget, charged for proven calls only (a client_id is public),
//                           given back when the provider refuses the client after all; 429 past it
//   6. conformErrors        two provider answers become RFC 6749 §5.2's: a request without client authentication is
//                           401 invalid_client, a grant type the client may not use is 400 unauthorized_client
//   7. answerIntrospection  introspection of this server's JWT access tokens (src/provider/jwt-introspection.ts)
//   8. issueServiceToken    a plain client_credentials request from a client settled in stage 2
//                           (src/provider/client-credentials-grant.ts)
//   9. answerRefreshRetry   a refresh token used less than REFRESH_RETRY_GRACE_SECONDS ago is replaced by the successor
//                           it got, which the provider hands over again unrotated; every rotation's successor is
//                           recorded for that (src/provider/refresh-retry-grace.ts). Everything goes on to the provider
//
// Paths are canonical by then (canonical-path.ts runs first), so an exact comparison covers every spelling.
import type { Context, Middleware, Next } from 'koa';
import type { Adapter } from 'oidc-provider';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config/index.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { AccessTokenSigner } from '../keys/access-token-signer.js';
import { rateLimited } from '../metrics/metrics.js';
import type { AccessTokens } from '../provider/access-tokens.js';
import { clientCredentialsGrant } from '../provider/client-credentials-grant.js';
import { jwtIntrospection } from '../provider/jwt-introspection.js';
import { refreshRetryGrace } from '../provider/refresh-retry-grace.js';
import { resourceOf, SERVICE_RESOURCE_SCOPES } from '../provider/resource-servers.js';
import { ROUTES } from '../provider/routes.js';
import { presentedCredentials, settledBySecret } from '../security/client-credentials.js';
import { isAllowed, parseAllowlist } from '../security/ip-allowlist.js';
import { consumedPoints, createRateLimiter, type LimiterBackend } from '../security/rate-limiter-store.js';
import type { Instance } from '../instances/instance-entity.js';
import { clientCallOf, setClientCall, type ClientCall } from './client-call.js';
import { oauthForm, readOAuthForm } from './oauth-form.js';
import { REVOCATIONS_PATH } from './revocation-stream.js';

/** The provider's routes where a client authenticates. */
export const CLIENT_ENDPOINTS: readonly string[] = [
  ROUTES.token,
  ROUTES.introspection,
  ROUTES.revocation,
  ROUTES.pushed_authorization_request,
];

/** Failed client authentications are counted over this window. */
const FAILURE_WINDOW_SECONDS = 15 * 60;
const BUDGET_WINDOW_SECONDS = 60;

// oidc-provider answers a request that carries no client authentication at all, and one for a grant type the client
// is not registered for, with 400 invalid_request. RFC 6749 §5.2 (and RFC 7662 §2.3, RFC 7009 §2.1 by reference) call
// the first invalid_client, 401, and the second unauthorized_client. conformErrors rewrites those two answers,
// recognized by the provider's own descriptions; test/http/client-endpoints.provider-pin.test.ts pins them on upgrades
// (docs/upgrading-oidc-provider.md).
export const NO_CLIENT_AUTHENTICATION = 'no client authentication mechanism provided';
export const GRANT_TYPE_NOT_ALLOWED = 'requested grant type is not allowed for this client';

export interface ClientEndpointDependencies {
  instances: InstanceStore;
  limiterBackend: LimiterBackend;
  clientAuthFailures: Config['clientAuthFailures'];
  issuer: string;
  accessTokens: AccessTokens;
  signer: AccessTokenSigner;
  accessTokenTtl: number;
  /** REFRESH_RETRY_GRACE_SECONDS. */
  refreshRetryGraceSeconds: number;
  /** The oidc-provider adapter of a model, on the shared store. */
  adapter: (model: string) => Adapter;
  /** Now, in epoch milliseconds. */
  now: () => number;
}

interface OAuthErrorBody {
  error?: unknown;
  error_description?: unknown;
}

/** A call where an instance authenticates: the provider's endpoints, and its revocation stream (revocation-stream.ts). */
function isClientEndpointCall(ctx: Context): boolean {
  return (ctx.method === 'POST' && CLIENT_ENDPOINTS.includes(ctx.path)) || (ctx.method === 'GET' && ctx.path === REVOCATIONS_PATH);
}

/** Userinfo takes its access token in a form too (RFC 6750 §2.2), and the token stage needs to see it there. */
function isProviderFormPost(ctx: Context): boolean {
  return isClientEndpointCall(ctx) || (ctx.method === 'POST' && ctx.path === ROUTES.userinfo);
}

function oauthError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.body = { error, error_description: description };
}

function refusedClient(ctx: Context): boolean {
  return ctx.status === 401 && (ctx.body as OAuthErrorBody | undefined)?.error === 'invalid_client';
}

/** IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers) for one named policy. */
function setRateLimitHeaders(ctx: Context, policy: string, quota: number, windowSeconds: number, state: RateLimiterRes): void {
  const resetSeconds = Math.ceil(state.msBeforeNext / 1000);
  ctx.set('RateLimit-Policy', `"${policy}";q=${quota};w=${windowSeconds}`);
  ctx.set('RateLimit', `"${policy}";r=${Math.max(0, state.remainingPoints)};t=${resetSeconds}`);
}

function tooManyRequests(ctx: Context, policy: string, quota: number, windowSeconds: number, state: RateLimiterRes, why: string): void {
  rateLimited.inc({ limit: policy });
  setRateLimitHeaders(ctx, policy, quota, windowSeconds, state);
  ctx.set('Retry-After', String(Math.max(1, Math.ceil(state.msBeforeNext / 1000))));
  oauthError(ctx, 429, 'temporarily_unavailable', why);
}

/** Consumes one point; the limiter's refusal comes back as a value, any other failure (the store) is thrown. */
async function consume(limiter: RateLimiterAbstract, key: string): Promise<{ ok: boolean; state: RateLimiterRes }> {
  try {
    return { ok: true, state: await limiter.consume(key) };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return { ok: false, state: rejection };
    throw rejection;
  }
}

/** The stages, in order; each passes requests to other paths straight through. */
export function clientEndpointStages(deps: ClientEndpointDependencies): Middleware[] {
  const { instances, limiterBackend, clientAuthFailures, issuer, accessTokens, signer, accessTokenTtl, refreshRetryGraceSeconds, adapter, now } = deps;
  const failuresPerIp = createRateLimiter(limiterBackend, {
    keyPrefix: 'client-auth-failures-ip',
    points: clientAuthFailures.perIp,
    duration: FAILURE_WINDOW_SECONDS,
  });
  const failuresPerClient = createRateLimiter(limiterBackend, {
    keyPrefix: 'client-auth-failures-client',
    points: clientAuthFailures.perClient,
    duration: FAILURE_WINDOW_SECONDS,
  });
  const budgets = new Map<number, RateLimiterAbstract>();
  /** Parsed once per instance read (InstanceStore keeps each read for a few seconds). */
  const allowlists = new WeakMap<Instance, ReturnType<typeof parseAllowlist>>();

  function budgetLimiter(perMinute: number): RateLimiterAbstract {
    let limiter = budgets.get(perMinute);
    if (!limiter) {
      limiter = createRateLimiter(limiterBackend, { keyPrefix: `instance-rate-${perMinute}`, points: perMinute, duration: BUDGET_WINDOW_SECONDS });
      budgets.set(perMinute, limiter);
    }
    return limiter;
  }

  function allowlistOf(instance: Instance) {
    if (instance.ipAllowlist.length === 0) return null;
    let list = allowlists.get(instance);
    if (!list) {
      list = parseAllowlist(instance.ipAllowlist);
      allowlists.set(instance, list);
    }
    return list;
  }

  // Per instance only for a client that exists, keyed by its own id: a client_id from the request may be anything,
  // of any length, and an unknown one is already counted against the address.
  const failureKeys = (ctx: Context, call: ClientCall | undefined) => ({
    ip: ctx.ip,
    client: call?.found ? `${call.found.instance.id}|${ctx.ip}` : undefined,
  });

  /**
   * Counts one failed authentication on the address's budget and, for an instance that exists, on its own; false when
   * either was already spent. Both count whatever the other says: a guess at an instance's secret made once the
   * address's budget is spent still spends that instance's budget.
   */
  async function countFailure(ctx: Context, call: ClientCall | undefined): Promise<{ ok: boolean; state: RateLimiterRes; quota: number }> {
    const keys = failureKeys(ctx, call);
    const perIp = { ...(await consume(failuresPerIp, keys.ip)), quota: clientAuthFailures.perIp };
    if (keys.client === undefined) return perIp;
    const perClient = { ...(await consume(failuresPerClient, keys.client)), quota: clientAuthFailures.perClient };
    return perIp.ok ? perClient : perIp;
  }

  /**
   * The spent failure budget this caller is over, if any. Every call to a client endpoint asks, valid credentials too
   * (else a right guess past the budget would be told apart from the refused wrong ones): both counters in one read.
   * A call proven with an instance's own credentials is asked of that instance's budget alone: other callers at its
   * address (another instance, a stranger) must not shut it out by failing. The address's budget still bounds
   * guessing: once it is spent an unknown client_id is refused outright, and a guess at an instance is told apart only
   * within that instance's own budget, so one address gets no more answers than CLIENT_AUTH_FAILURES_PER_IP plus
   * CLIENT_AUTH_FAILURES_PER_CLIENT for each instance that exists.
   */
  async function overFailureBudget(ctx: Context, call: ClientCall | undefined): Promise<{ state: RateLimiterRes; quota: number } | undefined> {
    const keys = failureKeys(ctx, call);
    const proven = call?.verdict === 'valid' || call?.verdict === 'previous';
    const budgets = [
      ...(proven ? [] : [{ limiter: failuresPerIp, key: keys.ip, quota: clientAuthFailures.perIp }]),
      ...(keys.client === undefined ? [] : [{ limiter: failuresPerClient, key: keys.client, quota: clientAuthFailures.perClient }]),
    ];
    const consumed = await consumedPoints(limiterBackend, budgets.map(({ limiter, key }) => [limiter, key] as const));
    const over = budgets.find((_, position) => (consumed[position] ?? 0) >= budgets[position]!.quota);
    if (!over) return undefined;
    // Spent: the counter's state, for the Retry-After and RateLimit fields of the 429.
    const state = await over.limiter.get(over.key);
    return state ? { state, quota: over.quota } : undefined;
  }

  const readForm = readOAuthForm(isProviderFormPost);

  async function identifyClient(ctx: Context, next: Next) {
    if (!isClientEndpointCall(ctx)) return next();
    const form = oauthForm(ctx);
    const authorization = ctx.headers.authorization;
    const credentials = presentedCredentials(authorization, form);
    if (credentials) {
      const found = await instances.findWithSecret(credentials.clientId);
      const verdict = found ? await credentials.check(found) : 'unknown';
      const settled = found !== null && verdict !== 'unknown' && settledBySecret(credentials, found, verdict, { authorization, form });
      if (verdict === 'previous' && found?.clientSecret) {
        await credentials.replaceSecret?.({ headers: ctx.req.headers, form }, found.clientSecret);
      }
      setClientCall(ctx, { clientId: credentials.clientId, found, verdict, settled, failureCounted: false });
    }
    return next();
  }

  async function limitFailures(ctx: Context, next: Next) {
    if (!isClientEndpointCall(ctx)) return next();
    const call = clientCallOf(ctx);
    const failed = call !== undefined && (call.verdict === 'invalid' || call.verdict === 'unknown');
    const over = await overFailureBudget(ctx, call);
    if (over) {
      // Refused unanswered, and still counted: a guess at an instance spends its budget even past the address's.
      if (failed) await countFailure(ctx, call);
      tooManyRequests(ctx, 'client-auth-failures', over.quota, FAILURE_WINDOW_SECONDS, over.state, 'too many failed client authentications; try again later');
      return;
    }
    if (call && failed) {
      call.failureCounted = true;
      const counted = await countFailure(ctx, call);
      if (!counted.ok) {
        tooManyRequests(ctx, 'client-auth-failures', counted.quota, FAILURE_WINDOW_SECONDS, counted.state, 'too many failed client authentications; try again later');
        return;
      }
    }
    await next();
    if (refusedClient(ctx) && !call?.failureCounted) await countFailure(ctx, call);
  }

  async function enforceAllowlist(ctx: Context, next: Next) {
    const instance = clientCallOf(ctx)?.found?.instance;
    const allowlist = instance && isClientEndpointCall(ctx) ? allowlistOf(instance) : null;
    if (allowlist && !isAllowed(allowlist, ctx.ip)) {
      oauthError(ctx, 401, 'invalid_client', 'this instance may not call from this address');
      return;
    }
    return next();
  }

  async function chargeBudget(ctx: Context, next: Next) {
    const call = clientCallOf(ctx);
    const instance = call?.found?.instance;
    const proven = call?.verdict === 'valid' || call?.verdict === 'previous' || call?.verdict === 'unproven';
    if (!instance || instance.rateLimit === null || !proven || !isClientEndpointCall(ctx)) return next();
    const limiter = budgetLimiter(instance.rateLimit);
    const charged = await consume(limiter, instance.id);
    if (!charged.ok) {
      tooManyRequests(ctx, 'instance', instance.rateLimit, BUDGET_WINDOW_SECONDS, charged.state, 'this instance is over its rate limit');
      return;
    }
    await next();
    setRateLimitHeaders(ctx, 'instance', instance.rateLimit, BUDGET_WINDOW_SECONDS, charged.state);
    if (refusedClient(ctx)) await limiter.reward(instance.id, 1);
  }

  async function conformErrors(ctx: Context, next: Next) {
    await next();
    if (ctx.status !== 400 || !isClientEndpointCall(ctx)) return;
    const body = ctx.body as OAuthErrorBody | undefined;
    if (body?.error !== 'invalid_request') return;
    if (body.error_description === NO_CLIENT_AUTHENTICATION) {
      ctx.set('WWW-Authenticate', 'Basic realm="chillfi3-auth"');
      oauthError(ctx, 401, 'invalid_client', 'client authentication is required');
    } else if (body.error_description === GRANT_TYPE_NOT_ALLOWED) {
      oauthError(ctx, 400, 'unauthorized_client', 'this instance is not allowed this grant type');
    }
  }

  const answerIntrospection = jwtIntrospection({ path: ROUTES.introspection, issuer, accessTokens, instances });
  const issueServiceToken = clientCredentialsGrant({
    path: ROUTES.token,
    issuer,
    signer,
    ttlSeconds: accessTokenTtl,
    serviceScopes: new Set(SERVICE_RESOURCE_SCOPES.split(' ')),
    resourceOf,
  });

  const answerRefreshRetry = refreshRetryGrace({ path: ROUTES.token, graceSeconds: refreshRetryGraceSeconds, adapter, now });

  return [
    readForm,
    identifyClient,
    limitFailures,
    enforceAllowlist,
    chargeBudget,
    conformErrors,
    answerIntrospection,
    issueServiceToken,
    answerRefreshRetry,
  ];
}
