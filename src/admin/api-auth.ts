// Who is calling the user API: the bearer of a JWT access token this server issued to an instance (RFC 6750 §2.1),
// for a user (authorization code flow) or for the instance itself (client_credentials). A token counts only while
// the provider still holds its shadow record (src/provider/access-token-registry.ts): revoking the token, its grant or
// its session removes the record, so a revoked token stops working here as at introspection, before it expires.
import type { Context, Middleware } from 'koa';
import type { JWTPayload } from 'jose';
import type { Provider } from 'oidc-provider';
import type { Account } from '../accounts/account-entity.js';
import type { AccountStore } from '../accounts/account-store.js';
import { AppError } from '../errors.js';
import type { Instance } from '../instances/instance-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { AccessTokenRegistry } from '../provider/access-token-registry.js';
import type { CallerRights } from './permissions.js';

/** The realm in every challenge (RFC 6750 §3). */
const REALM = 'chillfi3-auth';

/** The caller, with what the rules need (CallerRights) and what the operations need. */
export interface ApiCaller extends CallerRights {
  /** The signed-in account (null for an instance's own token). */
  account: Account | null;
  /** The instance the token was issued to. */
  instance: Instance;
  /** The single sign-on session the token was issued in, when there is one. */
  sessionUid: string | undefined;
}

export interface ApiAuthDependencies {
  provider: Provider;
  registry: AccessTokenRegistry;
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
function challenge(ctx: Context, status: 401 | 403, error?: { code: string; description: string; scope?: string }): AppError {
  const params = [`realm=${quoted(REALM)}`];
  if (error) params.push(`error=${quoted(error.code)}`, `error_description=${quoted(error.description)}`);
  if (error?.scope) params.push(`scope=${quoted(error.scope)}`);
  ctx.set('WWW-Authenticate', `Bearer ${params.join(', ')}`);
  return new AppError(error?.code ?? 'unauthorized', error?.description ?? 'an access token is required (Authorization: Bearer)', { status });
}

function invalidToken(ctx: Context): AppError {
  return challenge(ctx, 401, { code: 'invalid_token', description: 'the access token is not valid, has expired or was revoked' });
}

/** The 403 for an instance token without the scope the user API needs. */
export function insufficientScope(ctx: Context, scope: string): AppError {
  return challenge(ctx, 403, { code: 'insufficient_scope', description: `this needs an access token with scope ${scope}`, scope });
}

/** The caller that apiAuthentication found (only on routes behind it). */
export function apiCaller(ctx: Context): ApiCaller {
  return (ctx.state as { apiCaller: ApiCaller }).apiCaller;
}

/**
 * The shadow record of a verified token, when it is still live: a client_credentials token's in ClientCredentials
 * (its `sub` is the client itself, oidc-provider's lib/models/formats/jwt.js), a user's in AccessToken with its grant
 * still standing, as introspection checks it.
 */
async function liveRecord(provider: Provider, registry: AccessTokenRegistry, claims: JWTPayload) {
  const id = await registry.storedShadowId(claims.jti as string);
  if (claims.sub === claims.client_id) {
    const token = await provider.ClientCredentials.find(id);
    return token?.isValid && token.clientId === claims.client_id ? { scope: token.scope, accountId: undefined, sessionUid: undefined } : undefined;
  }
  const token = await provider.AccessToken.find(id);
  if (!token?.isValid || token.clientId !== claims.client_id || token.accountId !== claims.sub) return undefined;
  const grant = await provider.Grant.find(token.grantId, { ignoreExpiration: true });
  if (!grant || grant.isExpired || grant.clientId !== token.clientId || grant.accountId !== token.accountId) return undefined;
  return { scope: token.scope, accountId: token.accountId, sessionUid: token.sessionUid };
}

/** Koa middleware: 401 with a challenge unless the request carries a live access token; the caller in ctx.state. */
export function apiAuthentication({ provider, registry, accounts, instances }: ApiAuthDependencies): Middleware {
  return async function authenticateApiCaller(ctx, next) {
    const authorization = ctx.get('authorization');
    if (!authorization) throw challenge(ctx, 401);
    const token = /^Bearer +([\w\-.~+/]+=*) *$/i.exec(authorization)?.[1];
    const claims = token ? await registry.verify(token) : undefined;
    const record = claims ? await liveRecord(provider, registry, claims) : undefined;
    const instance = record ? await instances.findByClientId(claims?.client_id as string) : null;
    if (!record || !instance) throw invalidToken(ctx);
    const account = record.accountId === undefined ? null : await accounts.find(record.accountId);
    if (account?.disabled || (record.accountId !== undefined && !account)) throw invalidToken(ctx);
    const access = account ? await instances.accessOf(instance.id, account.id) : null;
    const caller: ApiCaller = {
      account,
      instance,
      instanceRole: access?.role ?? null,
      scopes: new Set(record.scope?.split(' ') ?? []),
      sessionUid: record.sessionUid,
    };
    (ctx.state as { apiCaller: ApiCaller }).apiCaller = caller;
    return next();
  };
}
