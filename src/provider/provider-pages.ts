// The pages oidc-provider itself shows a browser (its error page and RP-initiated logout), rendered with our views.
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { renderView } from '../http/views.js';
import { wayOnFrom } from '../web/error-way-on.js';

type RpInitiatedLogoutFeature = NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>;

function htmlOut(ctx: KoaContextWithOIDC, html: string): void {
  ctx.type = 'html';
  ctx.body = html;
}

export const renderError: NonNullable<Configuration['renderError']> = async (ctx, out) => {
  htmlOut(
    ctx,
    await renderView('error', {
      title: 'Something went wrong',
      status: ctx.status,
      error: out.error,
      description: out.error_description,
      wayOn: wayOnFrom(ctx.path),
    }),
  );
};

export const logoutSource: NonNullable<RpInitiatedLogoutFeature['logoutSource']> = async (ctx, form) =>
  htmlOut(ctx, await renderView('logout', { title: 'Sign out', form, clientName: ctx.oidc.client?.clientName }));

export const postLogoutSuccessSource: NonNullable<RpInitiatedLogoutFeature['postLogoutSuccessSource']> = async (ctx) =>
  htmlOut(ctx, await renderView('logged-out', { title: 'Signed out', clientName: ctx.oidc.client?.clientName }));
