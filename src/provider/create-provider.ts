import { Provider, type KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../audit/audit-log.js';
import { auditProviderEvents } from '../audit/provider-events.js';
import type { Logger } from '../logger.js';
import { countProviderEvents } from '../metrics/provider-events.js';
import { providerConfiguration, type ProviderDependencies } from './configuration.js';

export interface CreateProviderDependencies extends ProviderDependencies {
  logger: Logger;
  audit: AuditLog;
}

/** The oidc-provider instance, with its protocol events written to the audit trail, the log and the metrics. */
export function createProvider(deps: CreateProviderDependencies): Provider {
  const { config, logger, audit } = deps;
  const provider = new Provider(config.issuer, providerConfiguration(deps));
  provider.proxy = config.trustProxy !== false;

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => logger.error({ err, path: ctx.path }, 'provider error'));
  auditProviderEvents(provider, { audit, instances: deps.instances, logger });
  countProviderEvents(provider);
  return provider;
}
