// Example instances registered at a real auth server, on free loopback ports.
import { startInstance, type RunningInstance } from '../../../examples/instance/server.js';
import type { AccessPolicy } from '../../../src/instances/instance-entity.js';
import { addInstance } from '../../support/fixtures.js';
import { freePort } from '../../support/free-port.js';
import type { TestServer } from '../../support/test-server.js';

export interface RegisteredInstance extends RunningInstance {
  clientId: string;
  clientSecret: string;
}

/** Registers an example instance (redirect, post-logout and back-channel URIs on its port) and starts it. */
export async function startRegisteredInstance(
  server: TestServer,
  name: string,
  { accessPolicy, ...extra }: { probeIntervalSeconds?: number; accessPolicy?: AccessPolicy } = {},
): Promise<RegisteredInstance> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { instance, clientSecret } = await addInstance(server, {
    name,
    redirectUris: [`${base}/auth/callback`],
    postLogoutRedirectUris: [`${base}/`],
    backchannelLogoutUri: `${base}/auth/backchannel-logout`,
    skipConsent: true,
    accessPolicy,
  });
  const running = await startInstance({
    port,
    authServerUrl: server.issuer,
    clientId: instance.clientId,
    clientSecret,
    name,
    exposeTokensForTests: true,
    ...extra,
  });
  return { ...running, clientId: instance.clientId, clientSecret };
}
