// The credentials a request to a client-authenticated endpoint presents, and whether they are an instance's own.
// oidc-provider authenticates the client too, and its verdict is the one that answers the request. This early check
// exists because the limits must act before the provider runs and on proven identities only: an instance's budget is
// charged for calls made with its real credentials (a client_id is public and must not let strangers spend it), and
// a wrong secret is counted before anything is answered, so that no concurrency lets more guesses through than the
// failure limit allows. The provider exposes no hook between its client authentication and the endpoint, hence this.
// Decoding follows the provider's own (lib/shared/client_auth.js) so both read the same client from a request;
// test/security/client-credentials.provider-pin.test.ts holds it to the installed provider.
//
// A rotated secret's grace (InstanceStore.rotateSecret) is also kept here, as the provider knows one client_secret
// only: a request proven with the previous secret, while its grace lasts, is handed on with the current secret in its
// place (replaceSecret), so the provider authenticates it as usual: the secret itself for client_secret_basic and
// client_secret_post; for client_secret_jwt, the same assertion (header and claims, jti included, so replay detection
// holds) signed again with the current secret.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { base64url, CompactSign, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import type { ParsedUrlQuery } from 'node:querystring';
import type { InstanceWithSecret } from '../instances/instance-store.js';

/**
 * 'valid': the instance's own credentials; 'previous': its secret before the last rotation, within its grace;
 * 'invalid': wrong ones; 'unproven': nothing to check (a public client).
 */
export type CredentialVerdict = 'valid' | 'previous' | 'invalid' | 'unproven';

/** How the credentials were presented: the token_endpoint_auth_method they fit, or an assertion (either JWT method). */
export type PresentationMethod = 'client_secret_basic' | 'client_secret_post' | 'client_assertion' | 'none';

export interface PresentedCredentials {
  clientId: string;
  method: PresentationMethod;
  /** Checks the credentials against the instance that clientId names. */
  check(found: InstanceWithSecret): Promise<CredentialVerdict>;
  /** Presents `secret` in the place of the one the request was proven with (the header, the form, the assertion). */
  replaceSecret?(request: { headers: IncomingHttpHeaders; form: ParsedUrlQuery | undefined }, secret: string): void | Promise<void>;
}

const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const KEY_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** RFC 6749 §2.3.1 credentials are form-encoded, then base64'd; the provider refuses anything outside VSCHAR. */
const VSCHAR = /^[\x20-\x7E]*$/;

function formValue(form: ParsedUrlQuery | undefined, name: string): string | undefined {
  const value = form?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function decodeBasicPart(part: string): string | undefined {
  try {
    const decoded = decodeURIComponent(part.replace(/\+/g, '%20'));
    return VSCHAR.test(decoded) ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Base64 as the provider takes it (isValidBase64 in lib/shared/client_auth.js): padding may be left out, but if it is
 * there it must be right, and no stray character is ignored (Buffer would decode one silently).
 */
function isProviderBase64(value: string): boolean {
  const match = /^([A-Za-z0-9+/]+)(={0,2})$/.exec(value);
  if (!match) return false;
  const [, data = '', padding = ''] = match;
  const remainder = data.length % 4;
  return padding === '' ? remainder !== 1 : padding.length === 4 - remainder;
}

function basicCredentials(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  const [scheme, token, ...rest] = (authorization ?? '').split(' ');
  if (rest.length > 0 || scheme?.toLowerCase() !== 'basic' || !token || !isProviderBase64(token)) return undefined;
  const basic = Buffer.from(token, 'base64').toString('utf8');
  const separator = basic.indexOf(':');
  if (separator === -1) return undefined;
  const clientId = decodeBasicPart(basic.slice(0, separator));
  const secret = decodeBasicPart(basic.slice(separator + 1));
  return clientId && secret ? { clientId, secret } : undefined;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The digests of an instance's secrets, made once per read of the instance (InstanceStore keeps a read for a few
 * seconds, and an instance's every call in that time compares against the same secrets).
 */
const secretDigests = new WeakMap<InstanceWithSecret, { current: Buffer | null; previous: Buffer | null }>();

function digestsOf(found: InstanceWithSecret): { current: Buffer | null; previous: Buffer | null } {
  let digests = secretDigests.get(found);
  if (!digests) {
    digests = {
      current: found.clientSecret === null ? null : digest(found.clientSecret),
      previous: found.previousSecret === null ? null : digest(found.previousSecret.secret),
    };
    secretDigests.set(found, digests);
  }
  return digests;
}

/** Compares a presented secret with a stored one's digest in constant time, whatever their lengths. */
function sameSecret(presented: Buffer, stored: Buffer | null): boolean {
  return stored !== null && timingSafeEqual(presented, stored);
}

/** RFC 6749 §2.3.1: each part form-encoded, then both base64'd. */
function basicHeader(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

function secretVerdict(secret: string, found: InstanceWithSecret): CredentialVerdict {
  const { instance, previousSecret } = found;
  if (!SECRET_METHODS.has(instance.tokenEndpointAuthMethod)) return 'invalid';
  const presented = digest(secret);
  const stored = digestsOf(found);
  // Both compared whatever the first answer, so that the time taken says nothing of which one matched.
  const current = sameSecret(presented, stored.current);
  const previous = previousSecret !== null && sameSecret(presented, stored.previous);
  if (current) return 'valid';
  return previous && previousSecret.expiresAt.getTime() > Date.now() ? 'previous' : 'invalid';
}

function secretCredentials(clientId: string, secret: string, where: 'header' | 'form'): PresentedCredentials {
  return {
    clientId,
    method: where === 'header' ? 'client_secret_basic' : 'client_secret_post',
    check: async (found) => secretVerdict(secret, found),
    replaceSecret: ({ headers, form }, replacement) => {
      if (where === 'header') headers.authorization = basicHeader(clientId, replacement);
      else if (form) form.client_secret = replacement;
    },
  };
}

/** Signature and lifetime only: audience, jti reuse and the rest stay the provider's to check. */
async function assertionVerdict(assertion: string, { instance, clientSecret, previousSecret }: InstanceWithSecret): Promise<CredentialVerdict> {
  const signedWith = (secret: string) =>
    jwtVerify(assertion, new TextEncoder().encode(secret), { algorithms: HMAC_ALGORITHMS, issuer: instance.clientId }).then(
      () => true,
      () => false,
    );
  try {
    if (instance.tokenEndpointAuthMethod === 'client_secret_jwt' && clientSecret !== null) {
      if (await signedWith(clientSecret)) return 'valid';
      const inGrace = previousSecret !== null && previousSecret.expiresAt.getTime() > Date.now();
      return inGrace && (await signedWith(previousSecret.secret)) ? 'previous' : 'invalid';
    }
    if (instance.tokenEndpointAuthMethod === 'private_key_jwt' && instance.jwks) {
      const keys = createLocalJWKSet({ keys: instance.jwks.keys as JWK[] });
      await jwtVerify(assertion, keys, { algorithms: KEY_ALGORITHMS, issuer: instance.clientId });
      return 'valid';
    }
    // Keys behind a jwks_uri are the provider's to fetch, with its guard against private addresses: this stage does
    // not fetch them a second time. A refused assertion still counts as a failure and gives its budget back.
    if (instance.tokenEndpointAuthMethod === 'private_key_jwt' && instance.jwksUri) return 'unproven';
    return 'invalid';
  } catch {
    return 'invalid';
  }
}

function assertionCredentials(assertion: string): PresentedCredentials | undefined {
  let subject: unknown;
  try {
    subject = decodeJwt(assertion).sub;
  } catch {
    return undefined;
  }
  if (typeof subject !== 'string' || subject === '') return undefined;
  return {
    clientId: subject,
    method: 'client_assertion',
    check: (found) => assertionVerdict(assertion, found),
    replaceSecret: async ({ form }, secret) => {
      if (form) form.client_assertion = await signedAgain(assertion, secret);
    },
  };
}

/** The assertion, its header and claims byte for byte, signed with `secret` (HMAC, the algorithm it names). */
function signedAgain(assertion: string, secret: string): Promise<string> {
  const header = decodeProtectedHeader(assertion);
  return new CompactSign(base64url.decode(assertion.split('.')[1] ?? ''))
    .setProtectedHeader({ ...header, alg: header.alg as string })
    .sign(new TextEncoder().encode(secret));
}

/**
 * The client a request authenticates as, read the way the provider reads it (the form secret first, then the Basic
 * header, then a client assertion, else a bare client_id); undefined when it names none.
 */
export function presentedCredentials(authorization: string | undefined, form: ParsedUrlQuery | undefined): PresentedCredentials | undefined {
  const formSecret = formValue(form, 'client_secret');
  const formClientId = formValue(form, 'client_id');
  if (formSecret !== undefined) return formClientId ? secretCredentials(formClientId, formSecret, 'form') : undefined;
  if (authorization !== undefined) {
    const basic = basicCredentials(authorization);
    return basic ? secretCredentials(basic.clientId, basic.secret, 'header') : undefined;
  }
  const assertion = formValue(form, 'client_assertion');
  if (assertion !== undefined) return assertionCredentials(assertion);
  if (formClientId === undefined) return undefined;
  return {
    clientId: formClientId,
    method: 'none',
    check: async ({ instance }) => (instance.tokenEndpointAuthMethod === 'none' ? 'unproven' : 'invalid'),
  };
}

/**
 * Whether a request's client authentication is settled by `verdict` alone, with nothing left for the provider to
 * check: the instance's own secret (or the previous one in its grace), presented the one way it is registered for and
 * by no other mechanism besides (the provider refuses a request that mixes them). A client assertion never is: its
 * audience, expiry and single use are the provider's to check.
 */
export function settledBySecret(
  credentials: PresentedCredentials,
  found: InstanceWithSecret,
  verdict: CredentialVerdict,
  request: { authorization: string | undefined; form: ParsedUrlQuery | undefined },
): boolean {
  if (verdict !== 'valid' && verdict !== 'previous') return false;
  if (credentials.method !== found.instance.tokenEndpointAuthMethod) return false;
  const { form } = request;
  if (form?.client_assertion !== undefined || form?.client_assertion_type !== undefined) return false;
  if (credentials.method === 'client_secret_basic') {
    return form?.client_secret === undefined && (form?.client_id === undefined || form.client_id === credentials.clientId);
  }
  return credentials.method === 'client_secret_post' && request.authorization === undefined;
}
