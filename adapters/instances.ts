import { Provider, type Adapter, type AdapterPayload, type ClientMetadata } from 'oidc-provider';
import type { RegistrationRequest } from '../src/admin/registration-operations.js';
import type { Instance } from '../src/instances/instance-entity.js';
import type { InstanceStore } from '../src/instances/instance-store.js';
import { rethrowForProvider } from '../src/provider/store-unavailable.js';

/** The OIDC client metadata of a registered instance. */
export function clientMetadata(instance: Instance, clientSecret: string | null): ClientMetadata {
  const signsUsersIn = instance.grantTypes.includes('authorization_code');
  return {
    client_id: instance.clientId,
    ...(clientSecret === null ? {} : { client_secret: clientSecret }),
    client_name: instance.name,
    redirect_uris: instance.redirectUris,
    post_logout_redirect_uris: instance.postLogoutRedirectUris,
    ...(instance.backchannelLogoutUri
      ? { backchannel_logout_uri: instance.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    grant_types: instance.grantTypes,
    response_types: signsUsersIn ? ['code'] : [],
    token_endpoint_auth_method: instance.tokenEndpointAuthMethod,
    scope: instance.scopes,
    ...(instance.jwks ? { jwks: instance.jwks } : {}),
    ...(instance.jwksUri ? { jwks_uri: instance.jwksUri } : {}),
  };
}

/** Where the registration endpoints' writes go (src/admin/registration-operations.ts). */
export interface ClientRegistrations {
  register(clientId: string, metadata: ClientMetadata, request: RegistrationRequest): Promise<void>;
  update(clientId: string, metadata: ClientMetadata, request: RegistrationRequest): Promise<void>;
  remove(clientId: string, request: RegistrationRequest): Promise<void>;
}

/** The request the provider is serving: its bearer token and origin, for the enrolment token and the audit trail. */
function registrationRequest(): RegistrationRequest {
  const ctx = Provider.ctx;
  let token: string | undefined;
  try {
    token = ctx?.oidc.getAccessToken();
  } catch {
    token = undefined;
  }
  return { token, ip: ctx?.ip ?? null, userAgent: ctx?.get('user-agent') || null };
}

/**
 * oidc-provider's Client model, served from server_instances. The only writes are the registration endpoints' (an
 * instance registering itself, updating or removing its registration): the provider's route says which.
 */
export class InstanceClientAdapter implements Adapter {
  constructor(
    private readonly instances: InstanceStore,
    private readonly registrations: ClientRegistrations,
  ) {}

  async find(clientId: string): Promise<AdapterPayload | undefined> {
    const found = await this.instances.findWithSecret(clientId).catch(rethrowForProvider);
    return found ? (clientMetadata(found.instance, found.clientSecret) as AdapterPayload) : undefined;
  }

  upsert(clientId: string, payload: AdapterPayload): Promise<void> {
    const metadata = payload as ClientMetadata;
    if (Provider.ctx?.oidc.route === 'registration') return this.registrations.register(clientId, metadata, registrationRequest());
    return this.registrations.update(clientId, metadata, registrationRequest());
  }

  destroy(clientId: string): Promise<void> {
    return this.registrations.remove(clientId, registrationRequest());
  }

  findByUid(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  findByUserCode(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  consume(): Promise<never> {
    return Promise.reject(new Error('clients cannot be consumed'));
  }

  revokeByGrantId(): Promise<void> {
    return Promise.resolve();
  }
}
