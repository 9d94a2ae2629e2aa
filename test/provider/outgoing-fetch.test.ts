// The provider's outgoing requests on the real provider: a registered back-channel logout URI on a loopback address is
// reached, every other URL meets oidc-provider's guard against special-use addresses.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Provider } from 'oidc-provider';
import { addInstance } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** A loopback HTTP server that records the path of every request it is sent. */
async function receiver(): Promise<{ origin: string; paths: string[]; server: Server }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume().on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, server };
}

/**
 * oidc-provider's helper behind every outgoing request: it sets the timeout, the headers and the guarding dispatcher,
 * then calls the configured fetch. It is not a public export (hence loaded by path and typed here), but it is the
 * one way to send the provider to a URL no instance registered, which is what the guard is for. It is loaded with
 * require, as the test loader loads the server's own imports: a copy loaded otherwise would not know the provider.
 */
type FetchRequest = (provider: Provider, url: string, init: RequestInit) => Promise<Response>;
const fetchRequest = (createRequire(import.meta.url)('oidc-provider/lib/helpers/fetch_request.js') as { default: FetchRequest }).default;

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`the provider's outgoing requests (${backend})`, function () {
    let server: TestServer;
    let instance: Awaited<ReturnType<typeof receiver>>;
    before(async function () {
      server = await startTestServer(backend);
      instance = await receiver();
    });
    after(async function () {
      instance?.server.close();
      await server?.close();
    });

    /** What the provider does for each instance of a session that ends (the method is missing from its types). */
    async function backchannelLogout(clientId: string): Promise<void> {
      const client = (await server.services.provider.Client.find(clientId)) as unknown as {
        backchannelLogout(accountId: string, sessionId: string): Promise<void>;
      };
      await client.backchannelLogout('some-account', 'some-session');
    }

    it('[provider-pin] reaches the back-channel logout URI registered for an instance on a loopback address', async function () {
      const { instance: registered } = await addInstance(server, { backchannelLogoutUri: `${instance.origin}/auth/backchannel-logout` });
      await backchannelLogout(registered.clientId);
      expect(instance.paths).to.include('/auth/backchannel-logout');
    });

    it('recognizes a URI registered in another spelling of the same URL', async function () {
      const { instance: registered } = await addInstance(server, { backchannelLogoutUri: instance.origin.replace('http', 'HTTP') });
      await backchannelLogout(registered.clientId);
      expect(instance.paths).to.include('/');
    });

    it('[provider-pin] refuses every other URL to a loopback address, before a request is sent', async function () {
      await addInstance(server, { backchannelLogoutUri: `${instance.origin}/auth/backchannel-logout` });
      const before = instance.paths.length;
      const port = new URL(instance.origin).port;
      for (const url of [
        `${instance.origin}/admin`,
        `${instance.origin}/auth/backchannel-logout?x=1`,
        `http://localhost:${port}/auth/backchannel-logout`,
        `http://[::ffff:127.0.0.1]:${port}/auth/backchannel-logout`,
      ]) {
        const refusal = await fetchRequest(server.services.provider, url, { method: 'POST' }).then(
          () => new Error('reached'),
          (error: Error) => error,
        );
        expect(String((refusal.cause as Error | undefined)?.message), url).to.contain('special-use IP address');
      }
      expect(instance.paths).to.have.length(before);
    });
  });
}
