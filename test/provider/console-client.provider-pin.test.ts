// src/provider/console-client.ts declares the server's own pages as a static client of oidc-provider, relying on the
// provider to look its static clients up before asking the Client adapter (Client.find in lib/models/client.js): an
// instance row can never stand in for it, and signing in to the console needs no database read of a client. Held to
// the installed provider.
import { expect } from 'chai';
import type { Adapter } from 'oidc-provider';
import { CONSOLE_CLIENT_ID, WEB_CALLBACK_PATH } from '../../src/provider/console-client.js';
import { addInstance } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The ids `adapter.find` is asked for until `stop` is called. */
function recordFinds(adapter: Adapter): { asked: string[]; stop(): void } {
  const asked: string[] = [];
  const find = adapter.find.bind(adapter);
  adapter.find = (id) => {
    asked.push(id);
    return find(id);
  };
  return { asked, stop: () => void (adapter.find = find) };
}

describe('src/provider/console-client.ts against the installed oidc-provider', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server?.close());

  it('[provider-pin] the provider finds the console client among its static clients, without asking the Client adapter', async function () {
    const { instance } = await addInstance(server);
    const provider = server.services.liveProvider.current;
    // The Client model's adapter, which the type declarations leave out.
    const finds = recordFinds((provider.Client as unknown as { adapter: Adapter }).adapter);
    try {
      for (const attempt of ['first', 'again']) {
        const console = await provider.Client.find(CONSOLE_CLIENT_ID);
        expect(console?.redirectUris, attempt).to.deep.equal([`${server.issuer}${WEB_CALLBACK_PATH}`]);
      }
      expect(finds.asked, 'the adapter is not asked for the console client').to.deep.equal([]);
      expect((await provider.Client.find(instance.clientId))?.clientId).to.equal(instance.clientId);
      expect(finds.asked, 'an instance is found through the adapter').to.deep.equal([instance.clientId]);
    } finally {
      finds.stop();
    }
  });
});
