// Who is calling the user API: the bearer of a JWT access token this server issued to an instance (RFC 6750 §2.1),
// for a user (authorization code flow) or for the instance itself (client_credentials). A token counts only while it
// is live as introspection sees it (src/provider/access-tokens.ts): revoking the token, its grant or its session
// (which revokes the session's grants) marks it, so a revoked token stops working here too, before it expires.
import type { Context, Middleware } from 'koa';
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import { AppError } from '../errors.js';
import type { Instance } from '../instances/instance-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { grantIdOf, type AccessTokens } from '../provider/access-tokens.js';
import type { CallerRights } from './permissions.js';

/** The realm in every challenge (RFC 6750 §3). */
const REALM = 'chillfi3-auth';

/** The caller, with what the rules need (CallerRights) and what the operations need. */
export interface ApiCaller extends CallerRights {
  /** The signed-in account (null for an instance's own token). */
  account: Account | null;
  /** The instance the token was issued to. */
  instance: Instance;
  /** The `sid` of the single sign-on session a user's token was issued in (AccountSessions.uidOfSid finds it). */
  sid: string | undefined;
  /** How the user signed in (`acr` of the token: src/mfa/assurance.ts); undefined for an instance's own token. */
  acr: string | undefined;
}

export interface ApiAuthDependencies {
  accessTokens: AccessTokens;
  accounts: AccountStore;
  instances: InstanceStore;
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Refuses the request with an RFC 6750 challenge. The header is set on the response before throwing: the error
 * handler (src/http/error-handler.ts) writes the problem+json body and keeps the headers already set.
 */
function challenge(ctx: Context, status: 401 | 403, error?: { code: string; description: string; scope?: string; acrValues?: string }): AppError {
  const params = [`realm=${quoted(REALM)}`];
  if (error) params.push(`error=${quoted(error.code)}`, `error_description=${quoted(error.description)}`);
  if (error?.scope) params.push(`scope=${quoted(error.scope)}`);
  if (error?.acrValues) params.push(`acr_values=${quoted(error.acrValues)}`);
  ctx.set('WWW-Authenticate', `Bearer ${params.join(', ')}`);
  return new AppError(error?.code ?? 'unauthorized', error?.description ?? 'an access token is required (Authorization: Bearer)', { status });
}

function invalidToken(ctx: Context): AppError {
  return challenge(ctx, 401, { code: 'invalid_token', description: 'the access token is not valid, has expired or was revoked' });
}

/**
 * The 401 of RFC 9470 (OAuth 2.0 Step Up Authentication Challenge): the token's sign-in was not strong enough; the
 * client signs the user in again asking for `acr_values` and retries with the new token.
 */
export function insufficientUserAuthentication(ctx: Context, acrValues: string): AppError {
  return challenge(ctx, 401, {
    code: 'insufficient_user_authentication',
    description: 'this needs a sign-in with a second factor: sign in again with acr_values and use the new token',
    acrValues,
  });
}

/** The 403 for an instance token without the scope the user API needs. */
export function insufficientScope(ctx: Context, scope: string): AppError {
  return challenge(ctx, 403, { code: 'insufficient_scope', description: `this needs an access token with scope ${scope}`, scope });
}

/** The caller that apiAuthentication found (only on routes behind it). */
export function apiCaller(ctx: Context): ApiCaller {
  return (ctx.state as { apiCaller: ApiCaller }).apiCaller;
}

/** Koa middleware: 401 with a challenge unless the request carries a live access token; the caller in ctx.state. */
export function apiAuthentication({ accessTokens, accounts, instances }: ApiAuthDependencies): Middleware {
  return async function authenticateApiCaller(ctx, next) {
    const authorization = ctx.get('authorization');
    if (!authorization) throw challenge(ctx, 401);
    const token = /^Bearer +([\w\-.~+/]+=*) *$/i.exec(authorization)?.[1];
    const claims = token ? await accessTokens.live(token) : undefined;
    const instance = claims ? await instances.findByClientId(claims.client_id) : null;
    if (!claims || !instance) throw invalidToken(ctx);
    // A user's token names its grant; a client_credentials token (its `sub` is the client) names none.
    const accountId = grantIdOf(claims) && typeof claims.sub === 'string' ? claims.sub : undefined;
    const account = accountId === undefined ? null : await accounts.find(accountId);
    if (account?.disabled || (accountId !== undefined && !account)) throw invalidToken(ctx);
    const access = account ? await instances.accessOf(instance.id, account.id) : null;
    const caller: ApiCaller = {
      account,
      instance,
      instanceRole: access?.role ?? null,
      scopes: new Set(typeof claims.scope === 'string' ? claims.scope.split(' ') : []),
      sid: account && typeof claims.sid === 'string' ? claims.sid : undefined,
      acr: account && typeof claims.acr === 'string' ? claims.acr : undefined,
    };
    (ctx.state as { apiCaller: ApiCaller }).apiCaller = caller;
    return next();
  };
}
