// A real auth server with one account and one instance per test file, plus helpers to count what the SDK asks of it.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from '../../support/test-server.js';
import { addAccount, addInstance, codeFlow } from '../../support/fixtures.js';
import type { NewInstance } from '../../../src/instances/instance-store.js';
import { createAuthClient, type AuthClient, type AuthClientOptions } from '../../../src/sdk/index.js';

export { addAccount, addInstance, codeFlow, startTestServer, type TestServer };

/** Counts requests reaching the auth server, by "METHOD /path". */
export function countRequests(server: TestServer): Map<string, number> {
  const counts = new Map<string, number>();
  server.server.prependListener('request', (req: IncomingMessage) => {
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return counts;
}

export async function sdkClientFor(server: TestServer, overrides: Partial<AuthClientOptions> = {}, registration: Partial<NewInstance> = {}) {
  const { instance, clientSecret, client } = await addInstance(server, { backchannelLogoutUri: 'http://127.0.0.1:9/auth/backchannel-logout', ...registration });
  const auth: AuthClient = createAuthClient({
    serverUrl: server.issuer,
    clientId: instance.clientId,
    clientSecret,
    logger: null,
    ...overrides,
  });
  return { auth, instance, clientSecret, oidcClient: client };
}

/** Stops the auth server from answering (its database and services stay up), and brings it back on the same port. */
export async function stopListening(server: TestServer): Promise<() => Promise<void>> {
  const { port } = server.server.address() as AddressInfo;
  server.server.closeAllConnections();
  await new Promise<void>((resolve) => server.server.close(() => resolve()));
  return () => new Promise<void>((resolve) => server.server.listen(port, '127.0.0.1', resolve));
}
