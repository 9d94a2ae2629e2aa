// Which of oidc-provider's features are on, and who may introspect and revoke which tokens.
import type { Configuration } from 'oidc-provider';
import type { Config } from '../../config/index.js';
import { logoutSource, postLogoutSuccessSource } from './provider-pages.js';
import { resourceIndicators } from './resource-servers.js';

export function providerFeatures(config: Config): NonNullable<Configuration['features']> {
  return {
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
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    resourceIndicators: resourceIndicators(config),
  };
}
