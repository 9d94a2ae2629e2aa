// Discovery and the JWKS are the most requested and the least changing documents the server has: every instance and
// SDK fetches them, and they change only when the provider does (it is rebuilt when the key set changes,
// src/provider/live-provider.ts). So each is answered from the bytes the provider itself produced, kept per provider:
// the first request after a provider takes over runs through it and its answer is kept; the next ones get those bytes,
// with a strong ETag and 304 for a matching If-None-Match, and none of the provider's per-request work. The provider
// stays the only author of the documents (they are byte for byte its answer), and a node that rebuilds its provider
// after a rotation serves the new documents from its next request on, with a new ETag where the bytes changed.
//
// Only documents for the issuer's own origin are kept: discovery's URLs are built from the request's origin, and the
// Host header is the caller's to write; a request for any other origin (or with an absolute request target, which
// Koa's `href` prefers to the Host) is left to the provider, answered as before and not kept.
import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { DISCOVERY_PATHS, ROUTES } from '../provider/routes.js';
import type { LiveProvider } from '../provider/live-provider.js';

interface KeptDocument {
  body: Buffer;
  contentType: string;
  etag: string;
}

const DOCUMENT_PATHS: ReadonlySet<string> = new Set([...DISCOVERY_PATHS, ROUTES.jwks]);

function keptDocument(body: Buffer, contentType: string): KeptDocument {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}

function isPlainObject(body: unknown): body is object {
  return typeof body === 'object' && body !== null && Object.getPrototypeOf(body) === Object.prototype;
}

/** The answer, with the CORS headers the provider's own (`lib/shared/cors.js`, open to any origin) would carry. */
function answer(ctx: Context, document: KeptDocument): void {
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', ctx.get('Origin') || '*');
  ctx.set('ETag', document.etag);
  ctx.status = 200;
  if ((ctx.headers['if-none-match'] !== undefined || ctx.headers['if-modified-since'] !== undefined) && ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.set('Content-Type', document.contentType);
  ctx.body = document.body;
}

/** Answers GET and HEAD of discovery and the JWKS (canonical paths: after canonical-path.ts) from the kept bytes. */
export function discoveryCache(liveProvider: LiveProvider, issuer: string): Middleware {
  const issuerOrigin = new URL(issuer).origin;
  const kept = new WeakMap<Provider, Map<string, KeptDocument>>();
  return async function serveDiscoveryDocument(ctx, next) {
    if (
      (ctx.method !== 'GET' && ctx.method !== 'HEAD') ||
      !DOCUMENT_PATHS.has(ctx.path) ||
      !ctx.originalUrl.startsWith('/') ||
      `${ctx.protocol}://${ctx.host}` !== issuerOrigin
    ) {
      return next();
    }
    const document = kept.get(liveProvider.current)?.get(ctx.path);
    if (document) return answer(ctx, document);

    await next();
    // The provider that answered (it may have been replaced while the request ran), and its document as Koa would
    // send it (JSON.stringify, lib/application.js).
    const provider = (ctx as Partial<KoaContextWithOIDC>).oidc?.provider;
    const contentType = ctx.response.get('Content-Type');
    if (!provider || ctx.status !== 200 || !isPlainObject(ctx.body) || !contentType) return;
    const made = keptDocument(Buffer.from(JSON.stringify(ctx.body)), contentType);
    const documents = kept.get(provider) ?? new Map<string, KeptDocument>();
    documents.set(ctx.path, made);
    kept.set(provider, documents);
    answer(ctx, made);
  };
}
