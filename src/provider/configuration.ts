// node-oidc-provider's configuration, built from Config: every feature, TTL, claim and hook the server uses.
import type { Account as OidcAccount, Adapter, Configuration, KoaContextWithOIDC, ResourceServer } from 'oidc-provider';
import { errors, interactionPolicy } from 'oidc-provider';
import type { Config } from '../../config/index.js';
import type { AccountStore } from '../accounts/account-store.js';
import { ADMIN_SCOPE, INSTANCE_SCOPES, USERS_READ_SCOPE, type InstanceStore } from '../instances/instance-store.js';
import { deriveKey } from '../security/secret-box.js';
import { GRANT_ID_CLAIM } from './revocation-marks.js';
import { renderView } from '../http/views.js';
import type { PrivateJwk } from '../keys/key-store.js';
import type { Account } from '../accounts/account-entity.js';
import { instanceClaims, profileClaims, LOCAL_ID_CLAIM, ROLE_CLAIM, type InstanceClaims } from './instance-claims.js';
import { CONSOLE_CLIENT_ID, consoleClient } from './console-client.js';
import { outgoingFetch } from './outgoing-fetch.js';
import { rethrowForProvider } from './store-unavailable.js';

/** The provider's endpoints (oidc-provider's defaults, named here because the app's own middleware needs them too). */
export const ROUTES = {
  authorization: '/auth',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  userinfo: '/me',
  pushed_authorization_request: '/request',
  end_session: '/session/end',
  jwks: '/jwks',
} as const;

/** The provider's discovery documents (RFC 8414 and OpenID Connect Discovery): fixed paths, not among its routes. */
export const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'] as const;

/** The provider's route paths, spelled as the routes are (after src/http/canonical-path.ts, requests spell them so too). */
export const PROVIDER_PATHS: ReadonlySet<string> = new Set([...Object.values(ROUTES), ...DISCOVERY_PATHS]);

/** The scopes an instance's access tokens can carry; the OIDC ones let them be used at userinfo too. */
const RESOURCE_SCOPES = 'openid profile email';
/**
 * A user's tokens may also carry admin, and an instance's own tokens (client_credentials) users:read, each only when
 * the instance is allowed it (its client `scope`, which the provider enforces for static scopes).
 */
const USER_RESOURCE_SCOPES = `${RESOURCE_SCOPES} ${ADMIN_SCOPE}`;
export const SERVICE_RESOURCE_SCOPES = `${RESOURCE_SCOPES} ${USERS_READ_SCOPE}`;

/** Each instance is the resource server of its own access tokens; its resource indicator names it. */
export function resourceOf(clientId: string): string {
  return `urn:chillfi3:instance:${clientId}`;
}

/**
 * Cookie signing keys, derived from AUTH_SECRET_KEY so that every node signs and checks cookies alike. Keygrip signs
 * with the first and accepts any, re-signing a cookie it accepted under a previous master secret with the current one.
 */
export function cookieKeys(config: Config): string[] {
  return [config.secretKey, ...config.previousSecretKeys].map((secret) => deriveKey(secret, 'cookies').toString('base64url'));
}

export interface ProviderDependencies {
  config: Config;
  accounts: AccountStore;
  instances: InstanceStore;
  jwks: PrivateJwk[];
  adapter: (name: string) => Adapter;
}

function htmlOut(ctx: KoaContextWithOIDC, html: string, status?: number): void {
  ctx.type = 'html';
  if (status) ctx.status = status;
  ctx.body = html;
}

/**
 * Asks for interaction (which answers access_denied) when the signed-in account may not use an invite-only instance;
 * links the account as a member of an open one. Runs at every authorization request, with an SSO session too.
 */
function instanceAccessCheck(accounts: AccountStore, instances: InstanceStore) {
  return new interactionPolicy.Check(
    'no_instance_access',
    'the signed-in account may not use this instance',
    'access_denied',
    async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (!accountId || !clientId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const instance = await instances.findByClientId(clientId).catch(rethrowForProvider);
      if (!instance) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      if (instance.accessPolicy === 'open') {
        // An open instance takes whoever signs in, as a member, from the first sign-in on.
        await instances.linkMember(instance.id, accountId).catch(rethrowForProvider);
        return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      }
      const [account, access] = await Promise.all([accounts.find(accountId), instances.accessOf(instance.id, accountId)]).catch(
        rethrowForProvider,
      );
      return account && access ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    },
  );
}

/**
 * Asks for a sign-in when the session's account can no longer sign in (disabled or deleted while the session lived):
 * findAccount finds nobody then, and without this oidc-provider would go on to consent with no account and fail.
 */
function accountGoneCheck() {
  return new interactionPolicy.Check('account_unavailable', 'the account of this session can no longer sign in', 'login_required', (ctx) =>
    ctx.oidc.session?.accountId && !ctx.oidc.account ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT,
  );
}

export function providerConfiguration(deps: ProviderDependencies): Configuration {
  const { config, accounts, instances } = deps;
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.add(accountGoneCheck());
  policy.get('login')?.checks.add(instanceAccessCheck(accounts, instances));

  /** The account's role and local id on the instance `clientId` names (nothing when none is named). */
  async function claimsOnInstance(account: Account, clientId: string | undefined): Promise<Partial<InstanceClaims>> {
    const instance = clientId ? await instances.findByClientId(clientId) : null;
    return instance ? instanceClaims(account, await instances.accessOf(instance.id, account.id)) : {};
  }

  async function findAccount(ctx: KoaContextWithOIDC, sub: string): Promise<OidcAccount | undefined> {
    const account = await accounts.find(sub);
    if (!account || account.disabled) return undefined;
    const clientId = ctx.oidc.client?.clientId;
    // Read when first asked for (an ID token, userinfo), not at every authorization step that only needs the account.
    let perInstance: Promise<Partial<InstanceClaims>> | undefined;
    return {
      accountId: account.id,
      claims: async () => ({
        ...profileClaims(account),
        ...(await (perInstance ??= claimsOnInstance(account, clientId).catch(rethrowForProvider))),
      }),
    };
  }

  return {
    adapter: deps.adapter,
    clients: [consoleClient(config.issuer)],
    routes: ROUTES,
    findAccount: (ctx, sub) => findAccount(ctx, sub).catch(rethrowForProvider),
    jwks: { keys: deps.jwks },
    cookies: {
      keys: cookieKeys(config),
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name', 'picture', 'updated_at', ROLE_CLAIM, LOCAL_ID_CLAIM],
      email: ['email'],
    },
    scopes: [...INSTANCE_SCOPES],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: config.algorithms.idToken,
    },
    enabledJWA: {
      idTokenSigningAlgValues: [config.algorithms.idToken],
      userinfoSigningAlgValues: [config.algorithms.idToken],
      clientAuthSigningAlgValues: ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    // oidc-provider's guard against private and loopback addresses stays on for every outgoing request but those to
    // a back-channel logout URI an admin registered for an instance (often on a private network or this host).
    fetch: outgoingFetch(instances),
    pkce: { required: () => true },
    // 'none' for the server's own pages only (src/provider/console-client.ts); instances register 'code'.
    responseTypes: ['code', 'none'],
    clientBasedCORS: () => false,
    conformIdTokenClaims: false,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: config.ttl.accessToken,
      ClientCredentials: config.ttl.accessToken,
      AuthorizationCode: 60,
      IdToken: config.ttl.idToken,
      Interaction: 3600,
      RefreshToken: config.ttl.refreshToken,
      Session: config.ttl.session,
      Grant: Math.max(config.ttl.refreshToken, config.ttl.session),
    },
    extraTokenClaims: async (ctx, token) => {
      if (!('accountId' in token) || typeof token.accountId !== 'string') return undefined;
      const account = await accounts.find(token.accountId).catch(rethrowForProvider);
      if (!account) return undefined;
      return {
        // The session id lets an instance match a back-channel logout to the tokens and sockets of that session.
        ...(typeof token.sid === 'string' ? { sid: token.sid } : {}),
        preferred_username: account.username,
        name: account.displayName ?? account.username,
        ...(await claimsOnInstance(account, token.clientId as string).catch(rethrowForProvider)),
      };
    },
    formats: {
      customizers: {
        // Nothing is stored for a JWT access token: a user's token names its grant, so that revoking the grant
        // (whose mark is what ends its tokens: src/provider/revocation-marks.ts) reaches it.
        jwt: (_ctx, token, jwt) => {
          if ('grantId' in token && typeof token.grantId === 'string') jwt.payload[GRANT_ID_CLAIM] = token.grantId;
        },
      },
    },
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        // An instance may introspect the tokens issued to it or meant for it, nobody else's.
        allowedPolicy: async (_ctx, client, token) =>
          token.clientId === client.clientId || ('aud' in token && [token.aud].flat().includes(client.clientId)),
      },
      // An instance may revoke only the tokens issued to it.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) =>
          htmlOut(ctx, await renderView('logout', { title: 'Sign out', form, clientName: ctx.oidc.client?.clientName })),
        postLogoutSuccessSource: async (ctx) =>
          htmlOut(ctx, await renderView('logged-out', { title: 'Signed out', clientName: ctx.oidc.client?.clientName })),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx) => (ctx.oidc.client ? resourceOf(ctx.oidc.client.clientId) : undefined) as string,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client): ResourceServer => {
          if (resource !== resourceOf(client.clientId)) throw new errors.InvalidTarget('an instance can only ask for its own access tokens');
          return {
            scope: ctx.oidc.params?.grant_type === 'client_credentials' ? SERVICE_RESOURCE_SCOPES : USER_RESOURCE_SCOPES,
            audience: client.clientId,
            accessTokenFormat: 'jwt',
            accessTokenTTL: config.ttl.accessToken,
            jwt: { sign: { alg: config.algorithms.accessToken } },
          };
        },
      },
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    loadExistingGrant: async (ctx) => {
      const grantId =
        ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client?.clientId as string);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      const client = ctx.oidc.client;
      const accountId = ctx.oidc.session?.accountId;
      if (!client || !accountId) return existing;
      // The server's own pages and first-party instances: consent is implied, so the grant covers whatever is asked
      // for, now and later.
      const firstParty =
        client.clientId === CONSOLE_CLIENT_ID || (await instances.findByClientId(client.clientId).catch(rethrowForProvider))?.skipConsent;
      if (!firstParty) return existing;
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      const requested = [...(ctx.oidc.requestParamScopes ?? [])].join(' ');
      grant.addOIDCScope(requested);
      grant.addResourceScope(resourceOf(client.clientId), USER_RESOURCE_SCOPES);
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out) => {
      htmlOut(
        ctx,
        await renderView('error', {
          title: 'Something went wrong',
          status: ctx.status,
          error: out.error,
          description: out.error_description,
        }),
      );
    },
  };
}
