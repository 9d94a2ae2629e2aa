// Every kind of access token that must not hold a new admin power, for tests that try one on each: a server admin's
// from an instance not trusted with the admin scope, an ordinary user's from an instance that is, another instance's
// user token, and a client_credentials token of the instance trusted with the admin scope.
import * as oidc from 'openid-client';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../../src/instances/instance-store.js';
import { addAccount, addInstance, codeFlow } from './fixtures.js';
import type { TestServer } from './test-server.js';

/** Each token by what it is; `tag` keeps account names apart between suites sharing a database. */
export async function tokensWithoutAdminPower(server: TestServer, tag: string): Promise<Record<string, string>> {
  const trusted = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
  const plain = await addInstance(server);
  const admin = await addAccount(server, `other-admin-${tag}`, { isAdmin: true });
  const member = await addAccount(server, `other-member-${tag}`);
  const signedIn = (client: oidc.Configuration, username: string, scope: string) => codeFlow(client, { username, scope }).then(({ tokens }) => tokens.access_token);
  return {
    "a server admin's token from an instance not trusted with the admin scope": await signedIn(plain.client, admin.username, 'openid profile'),
    "an ordinary user's token asking the admin scope": await signedIn(trusted.client, member.username, `openid profile ${ADMIN_SCOPE}`),
    "another instance's user token": await signedIn(plain.client, member.username, 'openid profile'),
    'a client_credentials token': (await oidc.clientCredentialsGrant(trusted.client)).access_token,
  };
}
