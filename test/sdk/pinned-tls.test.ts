// Certificate pinning (AUTH_TLS_PINS): against a local TLS server that can present either of two certificates (both
// trusted through tlsCa, so that only the pins decide), every call the SDK makes to the auth server (discovery, keys,
// the revocation stream, any other through its fetch) goes through when the chain carries a pinned key and is refused,
// with a message naming the pins, when it does not; two pins let a rotation through.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuthError, createAuthClient, optionsFromEnv, type AuthClient } from '../../src/sdk/index.js';

interface Certificate {
  cert: string;
  key: string;
  pin: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl, and its SPKI pin. */
function certificate(dir: string, name: string): Certificate {
  const [keyPath, certPath] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', `/CN=localhost`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  const cert = readFileSync(certPath, 'utf8');
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return { cert, key: readFileSync(keyPath, 'utf8'), pin: createHash('sha256').update(spki).digest('base64') };
}

describe('sdk: pinned TLS (AUTH_TLS_PINS)', function () {
  this.timeout(20_000);
  let dir: string;
  let first: Certificate;
  let second: Certificate;
  let server: Server;
  let url: string;
  const clients: AuthClient[] = [];

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'chillfi3-pins-'));
    first = certificate(dir, 'first');
    second = certificate(dir, 'second');
    server = createServer({ cert: first.cert, key: first.key }, (req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks`, token_endpoint: `${url}/token`, introspection_endpoint: `${url}/token/introspection` }));
      } else if (req.url === '/jwks') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [] }));
      } else if (req.url === '/revocations') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('id: 1\n\n');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  after(function () {
    for (const auth of clients) auth.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function present(which: Certificate): void {
    server.setSecureContext({ cert: which.cert, key: which.key });
  }

  function client(pins: string[], extra: { revocationStream?: boolean } = {}): AuthClient {
    const auth = createAuthClient({ serverUrl: url, clientId: 'id', clientSecret: 'secret', tlsPins: pins, tlsCa: first.cert + second.cert, logger: null, ...extra });
    clients.push(auth);
    return auth;
  }

  async function refusal(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      const causes: string[] = [];
      for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) causes.push((current as Error).message);
      return causes.join(' / ');
    }
    return 'accepted';
  }

  it('connects when the chain carries the pinned key: discovery, keys', async function () {
    present(first);
    const auth = client([first.pin]);
    const configuration = await auth.discover();
    expect(configuration.serverMetadata().issuer).to.equal(url);
    expect((await auth.fetch(`${url}/jwks`)).status).to.equal(200);
  });

  it('refuses a chain that carries none of the pins, saying so, on every call', async function () {
    present(second);
    const auth = client([first.pin]);
    expect(await refusal(auth.discover())).to.include('none of the pinned keys (AUTH_TLS_PINS)').and.include(second.pin);
    expect(await refusal(auth.fetch(`${url}/jwks`))).to.include('none of the pinned keys');
    expect(await refusal(auth.validateToken('eyJhbGciOiJFUzI1NiJ9.e30.sig'))).to.not.equal('accepted');
    // The certificate itself is trusted (tlsCa): only the pin refused it.
    expect(await refusal(client([second.pin]).discover())).to.equal('accepted');
  });

  it('refuses the revocation stream too', async function () {
    present(second);
    const warnings: string[] = [];
    const auth = createAuthClient({
      serverUrl: url, clientId: 'id', clientSecret: 'secret', tlsPins: [first.pin], tlsCa: first.cert + second.cert, revocationStream: true,
      logger: { info() {}, warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details)}`) },
    });
    clients.push(auth);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(auth.revocations?.connected).to.equal(false);
    expect(warnings.join('\n')).to.include('none of the pinned keys');
    present(first);
    const pinned = client([first.pin], { revocationStream: true });
    await new Promise((resolve) => (pinned.revocations?.connected ? resolve(undefined) : pinned.once('revocations-connected', resolve)));
  });

  it('lets a rotation through with two pins', async function () {
    const auth = client([first.pin, second.pin]);
    for (const which of [first, second]) {
      present(which);
      expect((await auth.fetch(`${url}/jwks`)).status, which === first ? 'first' : 'second').to.equal(200);
    }
  });

  it('reads AUTH_TLS_PINS, refuses what is not a pin, and plain http', async function () {
    const env = { AUTH_SERVER_URL: url, AUTH_API_KEY: 'id', AUTH_API_SECRET: 'secret' };
    expect(optionsFromEnv({ ...env, AUTH_TLS_PINS: `${first.pin}, ${second.pin}` }).tlsPins).to.deep.equal([first.pin, second.pin]);
    expect(() => createAuthClient({ ...optionsFromEnv({ ...env, AUTH_TLS_PINS: 'not-a-pin' }), logger: null })).to.throw(AuthError, 'is not a pin');
    const plain = createAuthClient({ serverUrl: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 's', tlsPins: [first.pin], logger: null });
    clients.push(plain);
    expect(await refusal(plain.discover())).to.include('must be https');
  });
});
