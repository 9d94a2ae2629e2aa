import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { backchannelLogouts, tokenErrors, tokensIssued } from './metrics.js';

/** What the provider's own events tell the metrics: tokens issued and refused, back-channel logout deliveries. */
export function countProviderEvents(provider: Provider): void {
  // grant.success comes after the grant type's handler ran: the grant type is one the provider serves.
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type) });
  });
  // A refused request's grant_type is whatever the caller sent: the error code (one of the provider's) is the label.
  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: Error & { error?: string }) => {
    tokenErrors.inc({ error: err.error ?? 'invalid_request' });
  });
  provider.on('backchannel.success', () => backchannelLogouts.inc({ outcome: 'success' }));
  provider.on('backchannel.error', () => backchannelLogouts.inc({ outcome: 'failure' }));
}
