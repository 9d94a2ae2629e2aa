import type { Adapter, AdapterPayload, ClientMetadata } from 'oidc-provider';
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

/**
 * oidc-provider's Client model, served read-only from server_instances. Instances are registered with the CLI or
 * the admin API, never through the provider, so every write here is a programming error.
 */
export class InstanceClientAdapter implements Adapter {
  constructor(private readonly instances: InstanceStore) {}

  async find(clientId: string): Promise<AdapterPayload | undefined> {
    const found = await this.instances.findWithSecret(clientId).catch(rethrowForProvider);
    return found ? (clientMetadata(found.instance, found.clientSecret) as AdapterPayload) : undefined;
  }

  upsert(): Promise<never> {
    return Promise.reject(new Error('instances are registered with the CLI or the admin API'));
  }

  destroy(): Promise<never> {
    return Promise.reject(new Error('instances are removed with the CLI or the admin API'));
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
