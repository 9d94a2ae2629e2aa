// What the console's forms send, read the way the admin API reads JSON: the same zod schemas check it, and a refusal
// becomes what the form shows (status 400, the values kept) instead of an error page: a sentence under each field it
// is about, every such problem at once, and above the fields only what is about no one field.
import type { Context } from 'koa';
import type { z } from 'zod';
import { profileProblems } from '../accounts/account-store.js';
import type { PasswordPolicy } from '../accounts/password-policy.js';
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

/**
 * What is wrong with a posted form, as its page shows it (views/web/partials/field-error.ejs): `fields` holds a
 * sentence under each field it is about, keyed by the field's name; `form` what is about no one field.
 */
export interface FormErrors {
  form?: string;
  fields: Record<string, string>;
}

/** No problem: what a form's page gets when it is first shown. */
export const NO_FORM_ERRORS: FormErrors = Object.freeze({ fields: Object.freeze({}) }) as FormErrors;

/** One problem above the fields. */
export function formError(message: string): FormErrors {
  return { form: sentence(message), fields: {} };
}

/** One problem under a field. */
export function fieldError(field: string, message: string): FormErrors {
  return { fields: { [field]: sentence(message) } };
}

/** The problems of two checks of one form, as one: a field said wrong by both has both sentences, once each. */
export function mergeFormErrors(first: FormErrors, second: FormErrors): FormErrors {
  const form = [first.form, second.form].filter(Boolean).join(' ');
  const fields = { ...first.fields };
  for (const [field, message] of Object.entries(second.fields)) {
    const said = fields[field];
    fields[field] = said === undefined || said.includes(message) ? (said ?? message) : `${said} ${message}`;
  }
  return { ...(form ? { form } : {}), fields };
}

export function hasFormErrors(errors: FormErrors): boolean {
  return errors.form !== undefined || Object.keys(errors.fields).length > 0;
}

/** A message of ours as a sentence on the page. */
function sentence(message: string): string {
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}${message.endsWith('.') ? '' : '.'}`;
}

/**
 * Zod's checks in the product's words, given to safeParse as its `error` map. Zod speaks of types ("Too big: expected
 * string to have <=2048 characters"); the form speaks of what was typed. A schema's own message still wins.
 */
export function inFormWords(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return Number(issue.minimum) <= 1 ? 'tick at least one' : `tick at least ${issue.minimum}`;
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'required' : `at least ${issue.minimum} characters`;
      return `${issue.minimum} or more`;
    case 'too_big':
      if (issue.origin === 'array') return `at most ${issue.maximum} lines`;
      if (issue.origin === 'string') return `at most ${issue.maximum} characters`;
      return `${issue.maximum} or less`;
    case 'invalid_type':
      if (issue.expected === 'number' || issue.expected === 'int') return 'a whole number, or empty';
      return issue.input === undefined || issue.input === null ? 'required' : 'not a value this field takes';
    case 'invalid_value':
      return 'choose one of the options';
    case 'invalid_format':
      return issue.format === 'email' ? 'not an email address' : 'not in the form this field takes';
    case 'unrecognized_keys':
      return 'the form sent a field it does not have: reload the page';
    default:
      return undefined;
  }
}

/**
 * What the schema refused, every problem at once: under the field its path starts with (an item of a list named by
 * its line), or above the fields for a problem of the whole form.
 */
export function inputProblems(error: z.ZodError): FormErrors {
  const said = new Map<string, string[]>();
  const form: string[] = [];
  for (const { path, message } of error.issues) {
    const [field, item] = path;
    if (field === undefined) {
      form.push(sentence(message));
      continue;
    }
    const line = typeof item === 'number' ? `line ${item + 1}: ${message}` : message;
    const sentences = said.get(String(field)) ?? [];
    const text = sentence(line);
    if (!sentences.includes(text)) sentences.push(text);
    said.set(String(field), sentences);
  }
  const fields = Object.fromEntries([...said].map(([field, sentences]) => [field, sentences.join(' ')]));
  return form.length ? { form: form.join(' '), fields } : { fields };
}

/** What the schema refused as one line, each field named as the form labels it: for a form too small to say it under each field. */
export function inputProblem(error: z.ZodError, labels: Record<string, string>): string {
  const { form, fields } = inputProblems(error);
  return [form, ...Object.entries(fields).map(([field, message]) => `${labels[field] ?? field}: ${message}`)].filter(Boolean).join(' ');
}

/**
 * An operation's refusal of the input (a store's check, a taken name, the password policy) as the form's problems and
 * status: under `field` when the caller knows the field it is about, else above the fields; null for anything else,
 * which goes on to the error page.
 */
export function formProblem(error: unknown, field?: (error: AppError) => string | undefined): { errors: FormErrors; message: string; status: number } | null {
  if (!(error instanceof AppError) || (error.status !== 400 && error.status !== 409)) return null;
  const about = field?.(error);
  return { errors: about ? fieldError(about, error.message) : formError(error.message), message: sentence(error.message), status: error.status };
}

/** The account fields the stores' refusals name first ("username … is taken", "the password must …"). */
const ACCOUNT_FIELDS: [RegExp, string][] = [
  [/^username /, 'username'],
  [/^the password /, 'password'],
  [/^display name /, 'displayName'],
  [/^email /, 'email'],
  [/^bio /, 'bio'],
  [/^picture /, 'picture'],
];

/** The account form field a store's refusal is about (formProblem's `field` for the user and account forms). */
export function accountFieldOf(error: AppError): string | undefined {
  return ACCOUNT_FIELDS.find(([pattern]) => pattern.test(error.message))?.[1];
}

/**
 * A profile form's problems, every field at once: the schema's (`parsed`, in the form's words), and the store's own
 * checks (a picture that is no web address) of the fields the schema let through.
 */
export function profileFormProblems(parsed: z.ZodSafeParseResult<unknown>, profile: Record<string, string | null>): FormErrors {
  const schema = parsed.success ? NO_FORM_ERRORS : inputProblems(parsed.error);
  return Object.entries(profileProblems(profile))
    .filter(([field]) => schema.fields[field] === undefined)
    .reduce((found, [field, message]) => mergeFormErrors(found, fieldError(field, message)), schema);
}

/**
 * A new password and its repetition as typed, checked together: the policy's refusal under `password`, a repetition
 * that differs under `confirm`, both at once. The operation that sets it checks the policy again.
 */
export function newPasswordProblems(policy: PasswordPolicy, username: string, password: string, confirm: string): FormErrors {
  const fields: Record<string, string> = {};
  try {
    policy.check(password, username);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    fields.password = sentence(error.message);
  }
  if (password !== confirm) fields.confirm = 'Not the same as the password above.';
  return { fields };
}

/** Who sent the form, as the audit trail names them: the signed-in person (or `accountId`: nobody yet, a link's owner), through the web. */
export function webActor(ctx: Context, accountId: string | null = (ctx.state.viewer as { account: { id: string } }).account.id): Actor {
  return { accountId, via: 'web', ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
}
