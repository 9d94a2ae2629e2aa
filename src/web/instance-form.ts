// The console's instance form (register and edit): the fields as the admin typed them, read into the admin API's
// InstanceCreate input (the same zod schema, so the console accepts exactly what the API accepts), and an instance's
// settings put back into the fields. The store checks the result again (URLs, CIDRs, scopes against grant types).
// The form is made for ChillFi3: its address alone fills the three URIs the SDK's routes answer on.
import type { z } from 'zod';
import { InstanceCreate } from '../admin/admin-api-schemas.js';
import { type AppError, quoted } from '../errors.js';
import type { Instance } from '../instances/instance-entity.js';
import { AUTH_METHODS, DEFAULT_SCOPES, GRANT_TYPES, INSTANCE_SCOPES, InstanceNameTaken, uriProblem } from '../instances/instance-store.js';
import { fieldError, type FormErrors, hasFormErrors, inFormWords, inputProblems, mergeFormErrors, NO_FORM_ERRORS } from './form-input.js';

/** The form's fields as text, as the browser posts them and the page shows them again. */
export interface InstanceFormValues {
  name: string;
  /** The ChillFi3 server's public address (https://music.example): the URIs left empty are made from it. */
  address: string;
  /** One per line, like every list below. */
  redirectUris: string;
  postLogoutRedirectUris: string;
  backchannelLogoutUri: string;
  grantTypes: string[];
  scopes: string[];
  tokenEndpointAuthMethod: string;
  accessPolicy: string;
  /** Who must sign in with a second factor (src/mfa/mfa-policy.ts). */
  mfa: string;
  ipAllowlist: string;
  rateLimit: string;
  skipConsent: boolean;
  /** JSON, `{"keys": [...]}`. */
  jwks: string;
  jwksUri: string;
}

export type InstanceInput = z.infer<typeof InstanceCreate>;

/** What the form offers, for the page to draw its choices from. */
export const INSTANCE_FORM_CHOICES = { grantTypes: GRANT_TYPES, scopes: INSTANCE_SCOPES, authMethods: AUTH_METHODS } as const;

/** A new instance's fields: the store's defaults. */
export const NEW_INSTANCE_FORM: InstanceFormValues = {
  name: '',
  address: '',
  redirectUris: '',
  postLogoutRedirectUris: '',
  backchannelLogoutUri: '',
  // ChillFi3 uses all three: sign-in, staying signed in, and its own service token (client_credentials).
  grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  scopes: DEFAULT_SCOPES.split(' '),
  tokenEndpointAuthMethod: 'client_secret_basic',
  accessPolicy: 'open',
  mfa: 'optional',
  ipAllowlist: '',
  rateLimit: '',
  skipConsent: false,
  jwks: '',
  jwksUri: '',
};

export function instanceFormValues(instance: Instance): InstanceFormValues {
  return {
    name: instance.name,
    address: '',
    redirectUris: instance.redirectUris.join('\n'),
    postLogoutRedirectUris: instance.postLogoutRedirectUris.join('\n'),
    backchannelLogoutUri: instance.backchannelLogoutUri ?? '',
    grantTypes: instance.grantTypes,
    scopes: instance.scopes.split(' '),
    tokenEndpointAuthMethod: instance.tokenEndpointAuthMethod,
    accessPolicy: instance.accessPolicy,
    mfa: instance.mfa,
    ipAllowlist: instance.ipAllowlist.join('\n'),
    rateLimit: instance.rateLimit === null ? '' : String(instance.rateLimit),
    skipConsent: instance.skipConsent,
    jwks: instance.jwks ? JSON.stringify(instance.jwks, null, 2) : '',
    jwksUri: instance.jwksUri ?? '',
  };
}

function text(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value : '';
}

/** A group of checkboxes: absent when none is ticked, a string for one, an array for more. */
function ticked(body: Record<string, unknown>, name: string): string[] {
  const value = body[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((each): each is string => typeof each === 'string') : [];
}

/** The paths the SDK's browser routes answer on (src/sdk/browser-routes.ts, prefix /auth, docs/chillfi3.md step 3). */
const CHILLFI3_PATHS = { redirect: '/auth/callback', postLogout: '/', backchannelLogout: '/auth/backchannel-logout' } as const;

/** A ChillFi3 address as the base of its URIs (no trailing slash), or what is wrong with it. */
function chillfi3Base(address: string): { base: string } | { problem: string } {
  const trimmed = address.trim();
  const problem = uriProblem(trimmed);
  if (problem) return { problem: `${quoted(trimmed)} ${problem}` };
  const url = new URL(trimmed);
  if (url.search) return { problem: 'give the address alone, without a query (?…)' };
  return { base: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/** The URIs left empty, made from the ChillFi3 address when one is given; the URIs typed are kept as they are. */
function withAddressUris(values: InstanceFormValues): InstanceFormValues {
  if (!values.address.trim()) return values;
  const read = chillfi3Base(values.address);
  if ('problem' in read) return values;
  const { base } = read;
  return {
    ...values,
    redirectUris: values.redirectUris.trim() ? values.redirectUris : `${base}${CHILLFI3_PATHS.redirect}`,
    postLogoutRedirectUris: values.postLogoutRedirectUris.trim() ? values.postLogoutRedirectUris : `${base}${CHILLFI3_PATHS.postLogout}`,
    backchannelLogoutUri: values.backchannelLogoutUri.trim() ? values.backchannelLogoutUri : `${base}${CHILLFI3_PATHS.backchannelLogout}`,
  };
}

/** A new instance's form with `given` filled in and the URIs its address makes (first run's "Register an example instance"). */
export function chillfi3InstanceForm(given: Pick<InstanceFormValues, 'name' | 'address' | 'skipConsent'>): InstanceFormValues {
  return withAddressUris({ ...NEW_INSTANCE_FORM, ...given });
}

/** The posted form, as typed, with the URIs a ChillFi3 address makes where they were left empty. */
export function readInstanceForm(body: Record<string, unknown>): InstanceFormValues {
  return withAddressUris({
    name: text(body, 'name'),
    address: text(body, 'address'),
    redirectUris: text(body, 'redirectUris'),
    postLogoutRedirectUris: text(body, 'postLogoutRedirectUris'),
    backchannelLogoutUri: text(body, 'backchannelLogoutUri'),
    grantTypes: ticked(body, 'grantTypes'),
    scopes: ticked(body, 'scopes'),
    tokenEndpointAuthMethod: text(body, 'tokenEndpointAuthMethod'),
    accessPolicy: text(body, 'accessPolicy'),
    mfa: text(body, 'mfa'),
    ipAllowlist: text(body, 'ipAllowlist'),
    rateLimit: text(body, 'rateLimit'),
    skipConsent: text(body, 'skipConsent') === 'on',
    jwks: text(body, 'jwks'),
    jwksUri: text(body, 'jwksUri'),
  });
}

function lines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

function orNull(value: string): string | null {
  return value.trim() || null;
}

/** A whole number as typed, or NaN for the schema to refuse; blank: no limit of its own. */
function rateLimit(value: string): number | null {
  const trimmed = value.trim();
  if (!trimmed) return null;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

function jwks(value: string): unknown {
  if (!value.trim()) return null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** What the schema cannot see: a URI that is no http(s) URL, said under its field with its line; the store checks again. */
function uriProblems(values: InstanceFormValues): FormErrors {
  const fields: Record<string, string> = {};
  const listed: [keyof InstanceFormValues, string[]][] = [
    ['redirectUris', lines(values.redirectUris)],
    ['postLogoutRedirectUris', lines(values.postLogoutRedirectUris)],
  ];
  for (const [field, uris] of listed) {
    const problems = uris.flatMap((uri, index) => {
      const problem = uriProblem(uri);
      return problem ? [`Line ${index + 1}: ${quoted(uri)} ${problem}.`] : [];
    });
    if (problems.length) fields[field] = problems.join(' ');
  }
  for (const field of ['backchannelLogoutUri', 'jwksUri'] as const) {
    const uri = values[field].trim();
    const problem = uri ? uriProblem(uri) : null;
    if (problem) fields[field] = `${quoted(uri)} ${problem}.`;
  }
  const address = values.address.trim() ? chillfi3Base(values.address) : null;
  const found: FormErrors = { fields };
  return address && 'problem' in address ? mergeFormErrors(found, fieldError('address', address.problem)) : found;
}

/** The JWKS field: JSON, or what is wrong with it. */
function jwksField(value: string): { keys: unknown } | { errors: FormErrors } {
  const keys = jwks(value);
  return keys === undefined ? { errors: fieldError('jwks', 'not valid JSON; give {"keys": [ ... ]} or leave it empty') } : { keys };
}

/** Whether a redirect URI sends codes over plain http to another machine (loopback is the one place that is safe). */
function plainHttpElsewhere(uri: string): boolean {
  const url = URL.parse(uri);
  return url?.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) && !url.hostname.endsWith('.localhost');
}

/** What the form accepts but warns of: sign-in codes sent over plain http to a machine other than this one. */
export function instanceWarnings(redirectUris: readonly string[]): string[] {
  const plain = redirectUris.filter(plainHttpElsewhere);
  if (!plain.length) return [];
  return [
    `${plain.map(quoted).join(', ')} ${plain.length === 1 ? 'uses' : 'use'} plain http to another machine: ` +
      'sign-in codes and session cookies cross the network unencrypted. Use https unless this is a closed test network.',
  ];
}

/**
 * The form as the admin API's input, or every problem with it at once, each under the field it is about (named by its
 * line for the lists) and in the form's words; cross-field problems are left to the store, which says them above the
 * fields.
 */
export function instanceInput(values: InstanceFormValues): { input: InstanceInput } | { errors: FormErrors } {
  const keys = jwksField(values.jwks);
  const result = InstanceCreate.safeParse(
    {
      name: values.name.trim(),
      redirectUris: lines(values.redirectUris),
      postLogoutRedirectUris: lines(values.postLogoutRedirectUris),
      backchannelLogoutUri: orNull(values.backchannelLogoutUri),
      grantTypes: values.grantTypes,
      scopes: values.scopes,
      tokenEndpointAuthMethod: values.tokenEndpointAuthMethod,
      accessPolicy: values.accessPolicy,
      mfa: values.mfa,
      ipAllowlist: lines(values.ipAllowlist),
      rateLimit: rateLimit(values.rateLimit),
      skipConsent: values.skipConsent,
      jwks: 'keys' in keys ? keys.keys : null,
      jwksUri: orNull(values.jwksUri),
    },
    { error: inFormWords },
  );
  const schemaErrors = result.success ? NO_FORM_ERRORS : inputProblems(result.error);
  const errors = mergeFormErrors(mergeFormErrors(schemaErrors, 'errors' in keys ? keys.errors : NO_FORM_ERRORS), uriProblems(values));
  if (hasFormErrors(errors) || !result.success) return { errors };
  return { input: result.data };
}

/** The field of the form a store's refusal is about, where there is one; undefined: above the fields. */
export function instanceFieldOf(error: AppError): keyof InstanceFormValues | undefined {
  if (error instanceof InstanceNameTaken || error.message.startsWith('name ')) return 'name';
  if (/^(jwks must|every key in jwks)/.test(error.message)) return 'jwks';
  return undefined;
}
