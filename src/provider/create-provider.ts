import { Provider, type KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../audit/audit-log.js';
import { isStoreFailure } from '../db/store-failure.js';
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

  const write = (entry: Parameters<AuditLog['record']>[0]) => {
    audit.record(entry).catch((err: unknown) => {
      // A database outage is logged once by its store watch (src/db/store-watch.ts), not once per event.
      if (!isStoreFailure(err)) logger.error({ err }, 'audit write failed');
    });
  };
  const from = (ctx: KoaContextWithOIDC | undefined) => ({ ip: ctx?.ip ?? null, userAgent: ctx?.get('user-agent') ?? null });

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => logger.error({ err, path: ctx.path }, 'provider error'));
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) =>
    write({ action: 'grant.revoked', outcome: 'success', accountId: ctx.oidc?.account?.accountId, details: { grant_id: grantId }, ...from(ctx) }),
  );
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) =>
    write({ action: 'logout', outcome: 'success', accountId: ctx.oidc?.session?.accountId, ...from(ctx) }),
  );
  provider.on('backchannel.error', (ctx: KoaContextWithOIDC, err: Error, client: { clientId: string }) =>
    write({ action: 'backchannel_logout', outcome: 'failure', details: { client_id: client.clientId, error: err.message }, ...from(ctx) }),
  );
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: Error & { error?: string }) =>
    write({ action: 'token', outcome: 'failure', details: { client_id: ctx.oidc?.client?.clientId ?? null, error: err.error ?? err.message }, ...from(ctx) }),
  );
  countProviderEvents(provider);
  return provider;
}
