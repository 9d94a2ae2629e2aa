// The console's instance form (register and edit): the fields as the admin typed them, read into the admin API's
// InstanceCreate input (the same zod schema, so the console accepts exactly what the API accepts), and an instance's
// settings put back into the fields. The store checks the result again (URLs, CIDRs, scopes against grant types).
import type { z } from 'zod';
import { InstanceCreate } from '../admin/admin-api-schemas.js';
import type { Instance } from '../instances/instance-entity.js';
import { AUTH_METHODS, DEFAULT_SCOPES, GRANT_TYPES, INSTANCE_SCOPES } from '../instances/instance-store.js';
import { inputProblem } from './form-input.js';

/** The form's fields as text, as the browser posts them and the page shows them again. */
export interface InstanceFormValues {
  name: string;
  /** One per line, like every list below. */
  redirectUris: string;
  postLogoutRedirectUris: string;
  backchannelLogoutUri: string;
  grantTypes: string[];
  scopes: string[];
  tokenEndpointAuthMethod: string;
  accessPolicy: string;
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
  redirectUris: '',
  postLogoutRedirectUris: '',
  backchannelLogoutUri: '',
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: DEFAULT_SCOPES.split(' '),
  tokenEndpointAuthMethod: 'client_secret_basic',
  accessPolicy: 'open',
  ipAllowlist: '',
  rateLimit: '',
  skipConsent: false,
  jwks: '',
  jwksUri: '',
};

const LABELS: Record<keyof InstanceFormValues, string> = {
  name: 'Name',
  redirectUris: 'Redirect URIs',
  postLogoutRedirectUris: 'Post-logout redirect URIs',
  backchannelLogoutUri: 'Back-channel logout URI',
  grantTypes: 'Grant types',
  scopes: 'Scopes',
  tokenEndpointAuthMethod: 'Token endpoint authentication',
  accessPolicy: 'Who may sign in',
  ipAllowlist: 'IP allowlist',
  rateLimit: 'Rate limit',
  skipConsent: 'Skip consent',
  jwks: 'Public keys (JWKS)',
  jwksUri: 'JWKS URI',
};

export function instanceFormValues(instance: Instance): InstanceFormValues {
  return {
    name: instance.name,
    redirectUris: instance.redirectUris.join('\n'),
    postLogoutRedirectUris: instance.postLogoutRedirectUris.join('\n'),
    backchannelLogoutUri: instance.backchannelLogoutUri ?? '',
    grantTypes: instance.grantTypes,
    scopes: instance.scopes.split(' '),
    tokenEndpointAuthMethod: instance.tokenEndpointAuthMethod,
    accessPolicy: instance.accessPolicy,
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

/** The posted form, as typed. */
export function readInstanceForm(body: Record<string, unknown>): InstanceFormValues {
  return {
    name: text(body, 'name'),
    redirectUris: text(body, 'redirectUris'),
    postLogoutRedirectUris: text(body, 'postLogoutRedirectUris'),
    backchannelLogoutUri: text(body, 'backchannelLogoutUri'),
    grantTypes: ticked(body, 'grantTypes'),
    scopes: ticked(body, 'scopes'),
    tokenEndpointAuthMethod: text(body, 'tokenEndpointAuthMethod'),
    accessPolicy: text(body, 'accessPolicy'),
    ipAllowlist: text(body, 'ipAllowlist'),
    rateLimit: text(body, 'rateLimit'),
    skipConsent: text(body, 'skipConsent') === 'on',
    jwks: text(body, 'jwks'),
    jwksUri: text(body, 'jwksUri'),
  };
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

/** Zod's wording where it speaks of types rather than of the form; undefined keeps zod's own. */
function inFormWords(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'too_small' && issue.origin === 'array') return 'tick at least one';
  if (issue.code === 'too_small' && issue.origin === 'string') return 'required';
  if (issue.code === 'invalid_type' && issue.expected === 'number') return 'a whole number, or empty';
  return undefined;
}

/** The form as the admin API's input, or what is wrong with it, a sentence per field named as the form labels it. */
export function instanceInput(values: InstanceFormValues): { input: InstanceInput } | { error: string } {
  const keys = jwks(values.jwks);
  if (keys === undefined) return { error: `${LABELS.jwks}: not valid JSON; give {"keys": [ ... ]} or leave it empty.` };
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
      ipAllowlist: lines(values.ipAllowlist),
      rateLimit: rateLimit(values.rateLimit),
      skipConsent: values.skipConsent,
      jwks: keys,
      jwksUri: orNull(values.jwksUri),
    },
    { error: inFormWords },
  );
  return result.success ? { input: result.data } : { error: inputProblem(result.error, LABELS) };
}
