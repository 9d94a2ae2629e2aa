// The server's own pages (the account page and the admin console) sign in through this provider like any instance,
// as a built-in client that is no instance row: declared in the provider's static `clients`, which oidc-provider
// looks up before the Client adapter (lib/models/client.js, Client.find), so it needs no database and cannot be
// edited or deleted through the instance API.
// It asks for `response_type=none`: the pages read the provider's own SSO session, so there is no code or token to
// redeem; the callback only checks `state` (src/web/web-session.ts).
import type { ClientMetadata } from 'oidc-provider';

export const CONSOLE_CLIENT_ID = 'chillfi3-auth-console';

/** Where the provider sends the browser back after a sign-in for the server's own pages. */
export const WEB_CALLBACK_PATH = '/web/callback';

/** The name the sign-in page shows ("to continue to …"). */
export const CONSOLE_CLIENT_NAME = 'your ChillFi3 account';

export function consoleClient(issuer: string): ClientMetadata {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: CONSOLE_CLIENT_NAME,
    redirect_uris: [`${issuer}${WEB_CALLBACK_PATH}`],
    response_types: ['none'],
    grant_types: [],
    token_endpoint_auth_method: 'none',
  };
}
