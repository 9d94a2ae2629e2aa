// src/keys/key-set-watch.ts keeps a retiring key published until the last token it signed has expired, counting
// oidc-provider's back-channel logout tokens at the lifetime the provider gives them whatever the configured TTLs
// (120 s, set in lib/models/id_token.js for use 'logout', sent from Client#backchannelLogout in lib/models/client.js).
// Held to the installed provider: a logout token it sends lives exactly as long as rotationTimes assumes.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { loadConfig, type Config } from '../../config/index.js';
import { rotationTimes } from '../../src/keys/key-set-watch.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { addInstance } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The logout-token lifetime rotationTimes counts with: the retirement delay when every configured TTL is shorter. */
function assumedLogoutTokenSeconds(config: Config): number {
  const keyRotation = { ...config.keyRotation, checkIntervalSeconds: 0 };
  const retire = (seconds: number) => rotationTimes({ ...config, keyRotation, ttl: { ...config.ttl, accessToken: seconds, idToken: seconds } }).retireSeconds;
  // A TTL far above any logout token's sets the delay alone: what is left over it is the allowance for clock skew.
  const skew = retire(10_000) - 10_000;
  return retire(1) - skew;
}

describe('src/keys/key-set-watch.ts against the installed oidc-provider', function () {
  let server: TestServer;
  let receiver: Awaited<ReturnType<typeof backchannelReceiver>>;
  before(async function () {
    server = await startTestServer('sqlite');
    receiver = await backchannelReceiver();
  });
  after(async function () {
    receiver?.server.close();
    await server?.close();
  });

  it('[provider-pin] a back-channel logout token lives as long as rotationTimes assumes', async function () {
    const { instance } = await addInstance(server, { backchannelLogoutUri: receiver.url });
    const client = (await server.services.liveProvider.current.Client.find(instance.clientId)) as unknown as {
      backchannelLogout(sub: string, sid: string): Promise<void>;
    };
    await client.backchannelLogout('some-account', 'some-session');
    expect(receiver.tokens).to.have.length(1);
    const { iat, exp } = decodeJwt(receiver.tokens[0]!);
    expect(exp! - iat!).to.equal(assumedLogoutTokenSeconds(loadConfig(server.env)));
  });
});
