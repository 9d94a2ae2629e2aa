// The resource-indicator rules (RFC 8707): each instance is the resource server of its own access tokens, which are
// JWTs for that instance alone.
import type { Configuration, ResourceServer } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Config } from '../../config/index.js';
import { ADMIN_SCOPE, USERS_READ_SCOPE } from '../instances/instance-store.js';

/** The scopes an instance's access tokens can carry; the OIDC ones let them be used at userinfo too. */
const RESOURCE_SCOPES = 'openid profile email';
/**
 * A user's tokens may also carry admin, and an instance's own tokens (client_credentials) users:read, each only when
 * the instance is allowed it (its client `scope`, which the provider enforces for static scopes).
 */
export const USER_RESOURCE_SCOPES = `${RESOURCE_SCOPES} ${ADMIN_SCOPE}`;
export const SERVICE_RESOURCE_SCOPES = `${RESOURCE_SCOPES} ${USERS_READ_SCOPE}`;

/** Each instance is the resource server of its own access tokens; its resource indicator names it. */
export function resourceOf(clientId: string): string {
  return `urn:chillfi3:instance:${clientId}`;
}

type ResourceIndicatorsFeature = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

export function resourceIndicators(config: Config): ResourceIndicatorsFeature {
  return {
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
  };
}
