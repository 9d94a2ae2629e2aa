// What the user API accepts as a request body: JSON only, small, an object that its schema takes as it is.
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type { z } from 'zod';
import { AppError, BadRequest } from '../errors.js';

/** Far above the largest valid body (a bio of 2000 characters, a password of 1024, each up to 4 bytes in UTF-8). */
export const BODY_LIMIT = '16kb';

const parseJson = koaBody({ json: true, jsonStrict: true, jsonLimit: BODY_LIMIT, urlencoded: false, multipart: false, text: false });

/** Every problem zod found, one clause each, naming the field: "bio: Too big: expected string to have <=2000 characters". */
function describe(error: z.ZodError): string {
  return error.issues.map(({ path, message }) => (path.length ? `${path.join('.')}: ${message}` : message)).join('; ');
}

/**
 * The request's JSON body as `schema` reads it: 415 for a body of another type, 400 for bad JSON (koa-body) or a
 * body the schema refuses (saying why), 413 past BODY_LIMIT (koa-body). Read by the handler once the caller's rights
 * are settled, so that nobody unauthorized has a body read.
 */
export async function jsonInput<T extends z.ZodType>(ctx: Context, schema: T): Promise<z.infer<T>> {
  if (!ctx.is('application/json')) {
    throw new AppError('unsupported_media_type', 'the body must be JSON (Content-Type: application/json)', { status: 415 });
  }
  await parseJson(ctx, async () => {});
  const result = schema.safeParse(ctx.request.body);
  if (!result.success) throw new BadRequest(describe(result.error));
  return result.data;
}
