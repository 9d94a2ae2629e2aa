// The server's current provider alone, with the server's configuration and stores but none of the app's stages in
// front of it, on a port of its own: what the installed oidc-provider answers by itself. The [provider-pin] tests
// (docs/upgrading-oidc-provider.md) hold the app's stages to it.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from './test-server.js';

export interface ProviderAlone {
  url: string;
  close(): Promise<void>;
}

/**
 * Mocha hooks of the calling suite: a SQLite test server and its provider alone, started before the suite's tests and
 * stopped after them. The tests read both from what this returns.
 */
export function serverAndProviderAlone(): { server: TestServer; alone: ProviderAlone } {
  const both = {} as { server: TestServer; alone: ProviderAlone };
  before(async function () {
    both.server = await startTestServer('sqlite');
    both.alone = await providerAlone(both.server);
  });
  after(async function () {
    await both.alone?.close();
    await both.server?.close();
  });
  return both;
}

export async function providerAlone(server: TestServer): Promise<ProviderAlone> {
  const alone: Server = createServer(server.services.liveProvider.current.callback());
  await new Promise<void>((resolve) => alone.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(alone.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        alone.closeAllConnections();
        alone.close(() => resolve());
      }),
  };
}

export interface FormAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs `form` (form-encoded) to `base` + `path`; the JSON answer parsed ({} when empty). */
export async function postForm(base: string, path: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<FormAnswer> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body };
}

/** The source of a file of the installed oidc-provider's lib/ (e.g. 'actions/grants/refresh_token.js'). */
export function providerSource(file: string): string {
  const lib = dirname(createRequire(import.meta.url).resolve('oidc-provider'));
  return readFileSync(join(lib, file), 'utf8');
}
