// The form body of a POST to the provider's endpoints, read once so that the app's own stages can look at it (which
// client is calling, which token is presented) before the provider does. It is handed on as the request's pre-parsed
// body, which oidc-provider supports in place of the stream it has no longer to read (lib/shared/selective_body.js);
// changes the stages make to the parsed form (a token presented by another id) reach the provider that way.
import { parse, type ParsedUrlQuery } from 'node:querystring';
import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';

/** oidc-provider's own limit for these bodies. */
const BODY_LIMIT = 56 * 1024;

/** The parsed form of the current request, when readOAuthForm read one. */
export function oauthForm(ctx: Context): ParsedUrlQuery | undefined {
  return (ctx.state as { oauthForm?: ParsedUrlQuery }).oauthForm;
}

/** A form of single, non-empty values, each among `allowed`: the plain requests the stages may answer themselves. */
export function isPlainForm(form: ParsedUrlQuery, allowed: ReadonlySet<string>): boolean {
  return Object.entries(form).every(([name, value]) => allowed.has(name) && typeof value === 'string' && value !== '');
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

/** Reads and parses the form posts `applies` picks into ctx.state.oauthForm and the request's body. */
export function readOAuthForm(applies: (ctx: Context) => boolean): Middleware {
  return async function readOAuthFormBody(ctx, next) {
    if (!applies(ctx) || !ctx.is('application/x-www-form-urlencoded')) return next();
    const body = await readBody(ctx.req);
    if (body === undefined) {
      ctx.status = 413;
      ctx.body = { error: 'invalid_request', error_description: 'request body too large' };
      return;
    }
    const form = parse(body.toString('utf8'));
    (ctx.state as { oauthForm?: ParsedUrlQuery }).oauthForm = form;
    // The same object, not a copy: later stages' changes must reach the provider.
    Object.assign(ctx.request, { body: form });
    return next();
  };
}
