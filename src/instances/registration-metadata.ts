// What an instance registering itself (RFC 7591) or updating its registration (RFC 7592) may ask for, and how its
// client metadata becomes an instance's settings. Stricter than what an admin may register in the console: an
// enrolment token is handed to another server's operator, so the metadata is bounded in size, its URIs are https (or
// http on the instance's own loopback, for development), and the `admin` scope needs a token that allows it.
import { errors, type ClientMetadata } from 'oidc-provider';
import { ADMIN_SCOPE, GRANT_TYPES, type NewInstance } from './instance-store.js';
import type { TokenAuthMethod } from './instance-entity.js';

/** Longest URI, most URIs of one kind, largest key set (JSON characters), longest other text field. */
export const REGISTRATION_LIMITS = { uri: 2048, uris: 10, jwks: 16_384, text: 1000 } as const;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** The metadata fields holding one URI: the server calls them. */
const URI_FIELDS = ['backchannel_logout_uri', 'jwks_uri'] as const;

/** Why a URI may not be registered by an instance itself, or null: https, or http on a loopback host, no fragment. */
export function selfRegisteredUriProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length > REGISTRATION_LIMITS.uri) return `must be at most ${REGISTRATION_LIMITS.uri} characters`;
  const url = URL.parse(value);
  if (!url) return 'must be an absolute URL';
  if (url.hash) return 'must not have a fragment';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return 'must use https (or http on localhost)';
}

function uriListProblem(metadata: ClientMetadata, field: 'redirect_uris' | 'post_logout_redirect_uris'): string | null {
  const value = metadata[field];
  if (value === undefined) return null;
  if (!Array.isArray(value)) return `${field} must be an array of URIs`;
  if (value.length > REGISTRATION_LIMITS.uris) return `${field} may hold at most ${REGISTRATION_LIMITS.uris} URIs`;
  for (const uri of value) {
    const problem = selfRegisteredUriProblem(uri);
    if (problem) return `${field}: ${JSON.stringify(String(uri).slice(0, 100))} ${problem}`;
  }
  return null;
}

/** Whether `admin` may be among the scopes it asks for (the enrolment token said so). */
export interface RegistrationAllowance {
  adminScope: boolean;
}

/**
 * Refuses what this server does not let an instance register for itself, with the RFC 7591 error for it:
 * invalid_redirect_uri for a redirect URI, invalid_client_metadata for everything else.
 */
export function checkSelfRegistration(metadata: ClientMetadata, allowance: RegistrationAllowance): void {
  const redirectProblem = uriListProblem(metadata, 'redirect_uris');
  if (redirectProblem) throw new errors.InvalidRedirectUri(redirectProblem);
  const logoutProblem = uriListProblem(metadata, 'post_logout_redirect_uris');
  if (logoutProblem) throw new errors.InvalidClientMetadata(logoutProblem);
  // The server itself calls these (logout tokens, key sets): https only, never this host's loopback, whose services a
  // back-channel logout URI would reach past the guard against private addresses (src/provider/outgoing-fetch.ts).
  for (const field of URI_FIELDS) {
    if (metadata[field] === undefined) continue;
    const value = metadata[field];
    const problem = selfRegisteredUriProblem(value) ?? (URL.parse(String(value))?.protocol === 'https:' ? null : 'must use https');
    if (problem) throw new errors.InvalidClientMetadata(`${field} ${problem}`);
  }
  for (const [field, value] of Object.entries(metadata)) {
    if (typeof value === 'string' && value.length > REGISTRATION_LIMITS.text && !URI_FIELDS.includes(field as never)) {
      throw new errors.InvalidClientMetadata(`${field} must be at most ${REGISTRATION_LIMITS.text} characters`);
    }
  }
  if (metadata.jwks !== undefined && JSON.stringify(metadata.jwks).length > REGISTRATION_LIMITS.jwks) {
    throw new errors.InvalidClientMetadata(`jwks must be at most ${REGISTRATION_LIMITS.jwks} characters of JSON`);
  }
  const grantTypes = metadata.grant_types;
  if (grantTypes !== undefined) {
    if (!Array.isArray(grantTypes)) throw new errors.InvalidClientMetadata('grant_types must be an array');
    const unknown = grantTypes.find((grant) => !(GRANT_TYPES as readonly unknown[]).includes(grant));
    if (unknown !== undefined) {
      throw new errors.InvalidClientMetadata(`grant type ${JSON.stringify(String(unknown).slice(0, 100))} is not offered: only ${GRANT_TYPES.join(', ')}`);
    }
  }
  const scopes = typeof metadata.scope === 'string' ? metadata.scope.split(' ') : [];
  if (scopes.includes(ADMIN_SCOPE) && !allowance.adminScope) {
    throw new errors.InvalidClientMetadata(`the ${ADMIN_SCOPE} scope needs an enrolment token that allows it`);
  }
}

/** The instance settings the client metadata asks for (what an instance may set about itself, no more). */
export function instanceFromMetadata(metadata: ClientMetadata): Omit<NewInstance, 'accessPolicy' | 'skipConsent' | 'ipAllowlist' | 'rateLimit'> {
  return {
    name: typeof metadata.client_name === 'string' ? metadata.client_name : '',
    redirectUris: [...(metadata.redirect_uris ?? [])],
    postLogoutRedirectUris: [...(metadata.post_logout_redirect_uris ?? [])],
    backchannelLogoutUri: metadata.backchannel_logout_uri ?? null,
    grantTypes: metadata.grant_types ? [...metadata.grant_types] : undefined,
    tokenEndpointAuthMethod: metadata.token_endpoint_auth_method as TokenAuthMethod | undefined,
    scopes: typeof metadata.scope === 'string' ? metadata.scope.split(' ').filter(Boolean) : undefined,
    jwks: (metadata.jwks as NewInstance['jwks']) ?? null,
    jwksUri: metadata.jwks_uri ?? null,
  };
}
