// What the provider itself revokes, told to the instances concerned (src/revocations/revocation-feed.ts): a grant an
// instance revoked (its refresh token at the revocation endpoint) or that ended on a reused code or refresh token,
// a token revoked at the revocation endpoint, and the sessions and grants ended by a sign-out (RP-initiated logout).
import { Provider, type KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationFeed, RevocationNotice } from './revocation-feed.js';

interface SessionAuthorization {
  sid?: string;
  grantId?: string;
}

export function announceProviderRevocations(provider: Provider, feed: RevocationFeed): void {
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    // At sign-out the grants are told of with their sessions (end_session.success), each to its own instance.
    const clientId = ctx.oidc.client?.clientId;
    if (ctx.oidc.route === 'end_session' || !clientId) return;
    const token = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AccessToken;
    void feed.announce([{ clientId, type: 'grant.revoked', details: { grantId, sub: token?.accountId ?? null } }]);
  });

  const onDestroyed = (token: { jti?: string; clientId?: string; grantId?: string; accountId?: string }) => {
    if (Provider.ctx?.oidc.route !== 'revocation' || !token.clientId) return;
    void feed.announce([
      { clientId: token.clientId, type: 'token.revoked', details: { jti: token.jti ?? null, grantId: token.grantId ?? null, sub: token.accountId ?? null } },
    ]);
  };
  provider.on('access_token.destroyed', onDestroyed);
  provider.on('refresh_token.destroyed', onDestroyed);
  provider.on('client_credentials.destroyed', onDestroyed);

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session as unknown as { accountId?: string; authorizations?: Record<string, SessionAuthorization> } | undefined;
    const sub = session?.accountId ?? null;
    const notices: RevocationNotice[] = Object.entries(session?.authorizations ?? {}).flatMap(([clientId, { sid, grantId }]) => [
      { clientId, type: 'session.ended' as const, details: { sub, sid: sid ?? null } },
      ...(grantId ? [{ clientId, type: 'grant.revoked' as const, details: { sub, grantId } }] : []),
    ]);
    void feed.announce(notices);
  });
}
