// Example instances registered at a real auth server, on free loopback ports.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startInstance, type RunningInstance } from '../../../examples/instance/server.js';
import { addInstance } from '../../support/fixtures.js';
import type { TestServer } from '../../support/test-server.js';

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface RegisteredInstance extends RunningInstance {
  clientId: string;
  clientSecret: string;
}

/** Registers an example instance (redirect, post-logout and back-channel URIs on its port) and starts it. */
export async function startRegisteredInstance(server: TestServer, name: string, extra: { probeIntervalSeconds?: number } = {}): Promise<RegisteredInstance> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { instance, clientSecret } = await addInstance(server, {
    name,
    redirectUris: [`${base}/auth/callback`],
    postLogoutRedirectUris: [`${base}/`],
    backchannelLogoutUri: `${base}/auth/backchannel-logout`,
    skipConsent: true,
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
