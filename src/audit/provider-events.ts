// What oidc-provider's own events write to the audit trail: users' tokens issued, refreshed, refused and revoked, reuse of a
// code or refresh token, grants revoked, sign-outs, failed back-channel logouts. Each entry names the instance by its
// id (as access changes do) with its client_id in the details, and the request's address and user agent.
import { Provider, type KoaContextWithOIDC } from 'oidc-provider';
import { isStoreFailure } from '../db/store-failure.js';
import type { InstanceStore } from '../instances/instance-store.js';
import type { Logger } from '../logger.js';
import type { AuditEntry, AuditLog } from './audit-log.js';

export interface ProviderAuditDependencies {
  audit: AuditLog;
  instances: InstanceStore;
  logger: Logger;
}

/** An entry before the request's facts are added: the client it concerns, by client_id. */
type ProviderEntry = Omit<AuditEntry, 'instanceId' | 'ip' | 'userAgent'> & { clientId?: string | null };

export function auditProviderEvents(provider: Provider, { audit, instances, logger }: ProviderAuditDependencies): void {
  // The provider's events are synchronous: entries are written in the background, and AuditLog.flush (on close) waits
  // for them. A database outage is logged once by its store watch (src/db/store-watch.ts), not once per entry.
  const write = (ctx: KoaContextWithOIDC | undefined, entry: ProviderEntry | Promise<ProviderEntry>) =>
    audit.recordLater(completed(ctx, entry), (err) => {
      if (!isStoreFailure(err)) logger.error({ err }, 'audit write failed');
    });

  async function completed(ctx: KoaContextWithOIDC | undefined, pending: ProviderEntry | Promise<ProviderEntry>): Promise<AuditEntry> {
    const { clientId, ...entry } = await pending;
    // The instance store's cached lookup: every request of an instance has just made it.
    const instance = clientId ? await instances.findByClientId(clientId) : null;
    return {
      ...entry,
      instanceId: instance?.id ?? null,
      ip: ctx?.ip ?? null,
      userAgent: ctx?.get('user-agent') || null,
      details: clientId ? { client_id: clientId, ...entry.details } : (entry.details ?? null),
    };
  }

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String(ctx.oidc.params?.grant_type);
    // An instance's own service tokens are stored nowhere, not even here: each one is counted (tokens_issued_total),
    // and a refusal is audited like any other (grant.error below).
    if (grantType === 'client_credentials') return;
    write(ctx, {
      action: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued',
      outcome: 'success',
      accountId: ctx.oidc.account?.accountId ?? null,
      clientId: ctx.oidc.client?.clientId,
      details: { grant_type: grantType, grant_id: ctx.oidc.entities.Grant?.jti ?? null },
    });
  });

  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: Error & { error?: string; error_detail?: string }) => {
    write(ctx, {
      action: 'token.refused',
      outcome: 'failure',
      clientId: ctx.oidc?.client?.clientId,
      details: {
        grant_type: typeof ctx.oidc?.params?.grant_type === 'string' ? ctx.oidc.params.grant_type : null,
        error: err.error ?? err.message,
        detail: err.error_detail ?? null,
      },
    });
  });

  // At the token endpoint the provider revokes a grant for one reason only: a code or refresh token used before came
  // back (its sequential check), or lost the race to be consumed (adapters/model-adapter.ts emits this same event).
  // Elsewhere a grant ends because an instance revoked a token, or at sign-out.
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const reuse = ctx.oidc.route === 'token';
    write(
      ctx,
      accountOfRevokedGrant(audit, ctx, grantId).then((accountId): ProviderEntry => ({
        action: reuse ? 'token.reuse_detected' : 'grant.revoked',
        outcome: reuse ? 'failure' : 'success',
        accountId,
        clientId: ctx.oidc.client?.clientId,
        details: reuse
          ? { grant_id: grantId, grant_type: String(ctx.oidc.params?.grant_type) }
          : { grant_id: grantId, via: ctx.oidc.route },
      })),
    );
  });

  // Tokens are destroyed elsewhere too (a reused refresh token, by the provider): only revocation is audited here.
  const onRevocation = (tokenType: string) => (token: { accountId?: string; clientId?: string }) => {
    const ctx = Provider.ctx;
    if (ctx?.oidc.route !== 'revocation') return;
    write(ctx, {
      action: 'token.revoked',
      outcome: 'success',
      accountId: token.accountId ?? null,
      clientId: token.clientId,
      details: { token_type: tokenType },
    });
  };
  provider.on('access_token.destroyed', onRevocation('access_token'));
  provider.on('refresh_token.destroyed', onRevocation('refresh_token'));
  provider.on('client_credentials.destroyed', onRevocation('client_credentials'));

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) =>
    write(ctx, { action: 'logout', outcome: 'success', accountId: ctx.oidc.session?.accountId ?? null, clientId: ctx.oidc.client?.clientId }),
  );

  provider.on('backchannel.error', (ctx: KoaContextWithOIDC, err: Error, client: { clientId: string }, accountId: string) =>
    write(ctx, { action: 'backchannel_logout', outcome: 'failure', accountId, clientId: client.clientId, details: { error: err.message } }),
  );
}

/**
 * The account whose grant a request revoked. A reused code is not among the request's entities (the provider refuses
 * it before naming it) and is gone with its grant by now: its account is the one the grant's tokens were issued to.
 */
async function accountOfRevokedGrant(audit: AuditLog, ctx: KoaContextWithOIDC, grantId: string): Promise<string | null> {
  const { entities } = ctx.oidc;
  const token = entities.RefreshToken ?? entities.AccessToken ?? entities.AuthorizationCode;
  return token?.accountId ?? ctx.oidc.account?.accountId ?? ctx.oidc.session?.accountId ?? audit.accountOfDetail('grant_id', grantId);
}
