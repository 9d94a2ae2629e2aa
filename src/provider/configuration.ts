// node-oidc-provider's configuration, built from Config: every feature, TTL, claim and hook the server uses, each
// taken from the module under src/provider/ that owns it.
import type { Adapter, Configuration } from 'oidc-provider';
import { interactionPolicy } from 'oidc-provider';
import type { Config } from '../../config/index.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { EnrolmentTokens } from '../instances/enrolment-tokens.js';
import { INSTANCE_SCOPES, type InstanceStore } from '../instances/instance-store.js';
import type { PrivateJwk } from '../keys/key-store.js';
import { extraTokenClaims, findAccount, SCOPE_CLAIMS } from './account-claims.js';
import { accountGoneCheck } from './account-gone-check.js';
import { consoleClient } from './console-client.js';
import { cookieKeys } from './cookie-keys.js';
import { providerFeatures } from './features.js';
import { registrationFeatures } from './registration.js';
import { instanceAccessCheck } from './instance-access-check.js';
import { loadExistingGrant } from './load-existing-grant.js';
import { outgoingFetch } from './outgoing-fetch.js';
import { renderError } from './provider-pages.js';
import { isRefreshRetry } from './refresh-retry-grace.js';
import { GRANT_ID_CLAIM } from './revocation-marks.js';
import { ROUTES } from './routes.js';
import { secondFactorCheck } from './second-factor-check.js';
import { ACR_VALUES } from '../mfa/assurance.js';

export interface ProviderDependencies {
  config: Config;
  accounts: AccountStore;
  instances: InstanceStore;
  /** The tokens an instance registers itself with (src/provider/registration.ts). */
  enrolmentTokens: EnrolmentTokens;
  jwks: PrivateJwk[];
  adapter: (name: string) => Adapter;
}

export function providerConfiguration(deps: ProviderDependencies): Configuration {
  const { config, accounts, instances } = deps;
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.add(accountGoneCheck());
  policy.get('login')?.checks.add(instanceAccessCheck(accounts, instances));
  policy.get('login')?.checks.add(secondFactorCheck(accounts, instances, config));

  return {
    adapter: deps.adapter,
    clients: [consoleClient(config.issuer)],
    routes: ROUTES,
    findAccount: findAccount(accounts, instances),
    jwks: { keys: deps.jwks },
    cookies: {
      keys: cookieKeys(config),
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    claims: SCOPE_CLAIMS,
    // Discovery's acr_values_supported; the sign-in sets the session's acr and amr (src/interactions/routes.ts).
    acrValues: [...ACR_VALUES],
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
    // Every refresh rotates, but for a retry within REFRESH_RETRY_GRACE_SECONDS, handed the successor it missed.
    rotateRefreshToken: (ctx) => !isRefreshRetry(ctx),
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
    extraTokenClaims: extraTokenClaims(accounts, instances),
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
      ...providerFeatures(config),
      ...registrationFeatures({ fixedNameOf: async (token) => (await deps.enrolmentTokens.live(token))?.name ?? null }),
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    loadExistingGrant: loadExistingGrant(instances),
    renderError,
  };
}
