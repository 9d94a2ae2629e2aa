// Certificate pinning (AUTH_TLS_PINS): every connection to the auth server (discovery, keys, introspection, tokens,
// the user API, the revocation stream) must present a chain carrying one of the pinned public keys, given as the
// base64 SHA-256 of a certificate's SubjectPublicKeyInfo (as `openssl x509 -pubkey | openssl pkey -pubin -outform der |
// openssl dgst -sha256 -binary | base64` prints, HPKP's pin-sha256), several for a rotation. Node's fetch takes no
// per-request TLS check without the undici package, so this is a small fetch over node:https (no new dependency);
// the usual certificate and host name checks stay, the pin check is added to them.
import { createHash, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { Readable } from 'node:stream';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { AuthError } from './errors.js';

/** What a pin looks like: the base64 of 32 bytes. */
const PIN = /^[A-Za-z0-9+/]{43}=$/;
/** Statuses whose answer has no body (fetch's Response refuses one). */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

export function checkPins(pins: readonly string[]): string[] {
  if (pins.length === 0) throw new AuthError('configuration', 'chillfi3-auth sdk: tlsPins needs at least one pin');
  for (const pin of pins) {
    if (!PIN.test(pin)) throw new AuthError('configuration', `chillfi3-auth sdk: "${pin}" is not a pin (the base64 SHA-256 of a SubjectPublicKeyInfo)`);
  }
  return [...pins];
}

/** The pin of a certificate: the base64 SHA-256 of its DER SubjectPublicKeyInfo. */
export function spkiPin(certificate: { raw: Buffer }): string {
  const spki = new X509Certificate(certificate.raw).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** The pins of the chain the server presented, leaf first. */
function chainPins(leaf: PeerCertificate & { issuerCertificate?: PeerCertificate }): string[] {
  const pins: string[] = [];
  const seen = new Set<PeerCertificate>();
  for (let certificate: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf; certificate && !seen.has(certificate); ) {
    seen.add(certificate);
    if (certificate.raw) pins.push(spkiPin(certificate));
    certificate = certificate.issuerCertificate;
  }
  return pins;
}

function requestBody(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof URLSearchParams) return Buffer.from(String(body));
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new AuthError('configuration', 'chillfi3-auth sdk: a pinned request takes a string, form or bytes body');
}

/** A fetch to https URLs that refuses a server whose chain carries none of `pins`; `ca` adds trusted roots (PEM). */
export function pinnedFetch(pins: readonly string[], ca?: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  const wanted = new Set(checkPins(pins));
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:') {
        reject(new AuthError('configuration', `chillfi3-auth sdk: with AUTH_TLS_PINS the auth server must be https, not ${target.origin}`));
        return;
      }
      const body = requestBody(init.body);
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
      const outgoing = request(target, {
        method: init.method ?? 'GET',
        headers,
        ...(ca ? { ca } : {}),
        // A fresh connection per request: a pooled one might have been checked against other pins.
        agent: false,
        checkServerIdentity: (host, certificate) => {
          const problem = checkServerIdentity(host, certificate);
          if (problem) return problem;
          const presented = chainPins(certificate);
          if (presented.some((pin) => wanted.has(pin))) return undefined;
          return new AuthError(
            'auth_unavailable',
            `the auth server's certificate chain carries none of the pinned keys (AUTH_TLS_PINS); it presented ${presented.join(', ')}`,
          ) as unknown as Error;
        },
      });
      const abort = () => outgoing.destroy(init.signal?.reason instanceof Error ? init.signal.reason : new Error('aborted'));
      if (init.signal?.aborted) return abort();
      init.signal?.addEventListener('abort', abort, { once: true });
      outgoing.on('error', (error) => reject(error));
      outgoing.on('response', (incoming) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const each of [value ?? []].flat()) responseHeaders.append(name, each);
        }
        const status = incoming.statusCode ?? 502;
        const stream = NO_BODY.has(status) || init.method === 'HEAD' ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>);
        if (!stream) incoming.resume();
        resolve(new Response(stream, { status, statusText: incoming.statusMessage, headers: responseHeaders }));
      });
      outgoing.end(body);
    });
}
