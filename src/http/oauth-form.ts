// The form body of a request to the provider's client-authenticated endpoints, read once so that the app's own
// middleware can look at it (which client is calling, which token is presented) before the provider does.
// oidc-provider reads request bodies from the raw stream itself, so the (possibly rewritten) form is handed back
// to it as a fresh stream just before it runs: no body-parser library offers that hand-back.
import { Readable } from 'node:stream';
import { parse, stringify, type ParsedUrlQuery } from 'node:querystring';
import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';

/** oidc-provider's own limit for these bodies. */
const BODY_LIMIT = 56 * 1024;

/** The parsed form of the current request, when it is one of the endpoints' form posts. */
export function oauthForm(ctx: Context): ParsedUrlQuery | undefined {
  return (ctx.state as { oauthForm?: ParsedUrlQuery }).oauthForm;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and parses form posts to `paths` into ctx.state.oauthForm. */
export function readOAuthForm(paths: readonly string[]): Middleware {
  return async function readOAuthFormBody(ctx, next) {
    if (ctx.method !== 'POST' || !paths.includes(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) return next();
    const body = await readBody(ctx.req);
    if (body === undefined) {
      ctx.status = 413;
      ctx.body = { error: 'invalid_request', error_description: 'request body too large' };
      return;
    }
    (ctx.state as { oauthForm?: ParsedUrlQuery }).oauthForm = parse(body.toString('utf8'));
    return next();
  };
}

/** Hands ctx.state.oauthForm, as the middleware before left it, to the provider as the request body. */
export function replayOAuthForm(): Middleware {
  return function replayOAuthFormBody(ctx, next) {
    const form = oauthForm(ctx);
    if (form) {
      const body = Buffer.from(stringify(form));
      const replay = Readable.from([body]);
      ctx.req.headers['content-length'] = String(body.length);
      Object.defineProperty(ctx.req, 'readable', { configurable: true, get: () => replay.readable });
      ctx.req.iterator = replay.iterator.bind(replay) as IncomingMessage['iterator'];
    }
    return next();
  };
}
