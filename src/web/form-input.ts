// What the console's forms send, read the way the admin API reads JSON: the same zod schemas check it, and a refusal
// becomes a sentence the form shows above its fields (status 400, the values kept) instead of an error page.
import type { Context } from 'koa';
import type { z } from 'zod';
import type { Actor } from '../admin/account-operations.js';
import { AppError } from '../errors.js';

/** The posted form's fields (parsed by the `form` guard), each a single string; a repeated field keeps its last value. */
export function formFields(ctx: Context): Record<string, string> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (typeof last === 'string') fields[name] = last;
  }
  return fields;
}

/** Empty fields as null: a form cannot send "no value", and the schemas and stores read null as "clear it". */
export function blankAsNull<T extends Record<string, string>>(fields: T): { [K in keyof T]: string | null } {
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, value.trim() === '' ? null : value])) as { [K in keyof T]: string | null };
}

/** A message of ours as a sentence on the page. */
function sentence(message: string): string {
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}${message.endsWith('.') ? '' : '.'}`;
}

/** What the schema refused, one sentence per field, named as the form labels it. */
export function inputProblem(error: z.ZodError, labels: Record<string, string>): string {
  return error.issues
    .map(({ path, message }) => {
      const field = path.map(String).join('.');
      return sentence(field ? `${labels[field] ?? field}: ${message}` : message);
    })
    .join(' ');
}

/**
 * An operation's refusal of the input (a store's check, a taken name, the password policy) as the form's message and
 * status; null for anything else, which goes on to the error page.
 */
export function formProblem(error: unknown): { message: string; status: number } | null {
  if (!(error instanceof AppError) || (error.status !== 400 && error.status !== 409)) return null;
  return { message: sentence(error.message), status: error.status };
}

/** Who sent the form, as the audit trail names them: the signed-in person (or `accountId`: nobody yet, a link's owner), through the web. */
export function webActor(ctx: Context, accountId: string | null = (ctx.state.viewer as { account: { id: string } }).account.id): Actor {
  return { accountId, via: 'web', ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
}
