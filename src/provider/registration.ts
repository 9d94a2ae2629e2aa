// oidc-provider's registration endpoints (RFC 7591 registration, RFC 7592 read, update and delete): an instance with an
// enrolment token (adapters/enrolment-tokens.ts, as the provider's initial access token) registers itself, and with the
// registration access token it is handed, manages its own registration. The policies here refuse what this server
// does not let an instance ask for itself (src/instances/registration-metadata.ts); the instance row is written by
// src/admin/registration-operations.ts, through the Client adapter.
import { randomBytes } from 'node:crypto';
import { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { ADMIN_SCOPE } from '../instances/instance-store.js';
import { checkSelfRegistration } from '../instances/registration-metadata.js';

/** The policy names an enrolment token carries: the checks always; the others as its terms say. */
export const ENROLMENT_POLICIES = {
  checks: 'chillfi3',
  /** The instance may ask for the `admin` scope. */
  adminScope: 'chillfi3-admin-scope',
  /** The instance's name is the one the admin gave the token, whatever it asks. */
  fixedName: 'chillfi3-fixed-name',
} as const;

/** The policies of the token the request carries: the enrolment token's, or the registration access token's. */
function policiesOf(ctx: KoaContextWithOIDC): readonly string[] {
  return ctx.oidc.entities.InitialAccessToken?.policies ?? ctx.oidc.entities.RegistrationAccessToken?.policies ?? [];
}

/** The registered client a management request is about, or undefined for a new registration. */
function registered(ctx: KoaContextWithOIDC) {
  return ctx.oidc.route === 'registration' ? undefined : ctx.oidc.client;
}

function checks(ctx: KoaContextWithOIDC, properties: ClientMetadata): void {
  const client = registered(ctx);
  const hadAdmin = client?.scope?.split(' ').includes(ADMIN_SCOPE) ?? false;
  checkSelfRegistration(properties, { adminScope: hadAdmin || policiesOf(ctx).includes(ENROLMENT_POLICIES.adminScope) });
  const responseTypes = properties.response_types;
  if (responseTypes !== undefined && (!Array.isArray(responseTypes) || responseTypes.some((type) => type !== 'code'))) {
    throw new errors.InvalidClientMetadata('response_types may hold "code" only');
  }
  // An instance that signs nobody in (client_credentials alone) has no response type, rather than the default code.
  if (responseTypes === undefined && properties.grant_types && !properties.grant_types.includes('authorization_code')) {
    properties.response_types = [];
  }
  if (client) {
    properties.client_name ??= client.clientName;
    // A secret the instance does not have yet would be made twice (here and by the store): an admin changes the method.
    const method = properties.token_endpoint_auth_method ?? 'client_secret_basic';
    if (method !== client.tokenEndpointAuthMethod) {
      throw new errors.InvalidClientMetadata('token_endpoint_auth_method cannot change through the registration endpoint: ask an admin');
    }
  }
}

/** Fixed by the token at registration (adapters/enrolment-tokens.ts gives the name), kept from then on. */
function fixedName(name: (ctx: KoaContextWithOIDC) => Promise<string | null>) {
  return async (ctx: KoaContextWithOIDC, properties: ClientMetadata): Promise<void> => {
    const client = registered(ctx);
    const fixed = client ? (client.clientName ?? null) : await name(ctx);
    if (fixed !== null) properties.client_name = fixed;
  };
}

export interface RegistrationFeatureDependencies {
  /** The name an enrolment token fixes, for the token the request carries (null: none, or no such live token). */
  fixedNameOf(token: string): Promise<string | null>;
}

export function registrationFeatures(deps: RegistrationFeatureDependencies): Pick<NonNullable<Configuration['features']>, 'registration' | 'registrationManagement'> {
  return {
    registration: {
      enabled: true,
      initialAccessToken: true,
      // As an instance registered in the console gets (src/instances/instance-store.ts).
      idFactory: () => randomBytes(16).toString('base64url'),
      issueRegistrationAccessToken: true,
      policies: {
        [ENROLMENT_POLICIES.checks]: checks,
        // A mark read by `checks`: nothing of its own to do.
        [ENROLMENT_POLICIES.adminScope]: () => undefined,
        [ENROLMENT_POLICIES.fixedName]: fixedName((ctx) => deps.fixedNameOf(ctx.oidc.getAccessToken())),
      },
    },
    // The registration access token stays what the instance was handed (its .env holds it) until it is removed.
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
  };
}
