// Who is calling: the address every limit, allowlist and audit entry uses. Behind reverse proxies the peer is the
// nearest proxy and the client is in X-Forwarded-For, where anyone can write anything on the left: the client is the
// rightmost address that is not a trusted proxy (proxy-addr, the walk Express uses). Requests that did not come
// through a trusted proxy have their X-Forwarded-* headers dropped, so neither the address nor the scheme or host
// (Koa's `proxy` setting reads those) can be spoofed by a client that reaches the server directly.
import type { Middleware } from 'koa';
import proxyaddr from 'proxy-addr';
import type { TrustedProxies } from '../../config/index.js';

const FORWARDED_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded'];

/** proxy-addr's trust function: hop `i` (0 is the peer) is trusted when within the count or on the list. */
export function trustFunction(trusted: TrustedProxies): (address: string, hop: number) => boolean {
  if (trusted === false) return () => false;
  if (typeof trusted === 'number') return (_address, hop) => hop < trusted;
  return proxyaddr.compile([...trusted]);
}

export function clientAddress(trusted: TrustedProxies): Middleware {
  const trust = trustFunction(trusted);
  return function resolveClientAddress(ctx, next) {
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (!trust(peer, 0)) {
      const { headers } = ctx.req;
      // Only those present: deleting a missing property still costs (and can slow the object down for what follows).
      for (const header of FORWARDED_HEADERS) if (header in headers) delete headers[header];
      ctx.request.ip = peer;
    } else {
      ctx.request.ip = proxyaddr(ctx.req, trust);
    }
    return next();
  };
}
