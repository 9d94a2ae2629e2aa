// This server's JWT access tokens, checked without the provider: the signature against the key set served now (held
// in memory, swapped on rotation), then the token's revocation marks (src/provider/revocation-marks.ts) in one store
// round trip. Nothing is stored when a token is issued; introspection (jwt-introspection.ts), the user API
// (src/admin/api-auth.ts) and the provider bridge for userinfo and revocation (jwt-presentation.ts) all ask here.
//
// A verified token is remembered by its exact string until it expires (or the key set changes), so an instance that
// presents the same token again costs a map lookup instead of an ECDSA verification: the string is the whole token,
// signature included, so nothing but that token can hit the entry. Revocation is never cached: every check asks the
// store.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { OidcStore } from '../../adapters/index.js';
import { GRANT_ID_CLAIM, grantMark, tokenMark } from './revocation-marks.js';

/** The claims of a verified access token of this server. */
export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  client_id: string;
  exp: number;
  iat: number;
}

/** How many verified tokens a node remembers (a few MB at most). */
const VERIFIED_TOKENS = 10_000;

/** Three base64url parts, as a compact JWS is spelled: the cheap test, enough for every token this server issues. */
function isJwtShaped(value: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value);
}

function hasReadableHeader(value: string): boolean {
  try {
    decodeProtectedHeader(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * A token the stages answer for rather than the provider: one spelled as a JWS, or any whose first part reads as a JOSE
 * header, which the provider would refuse at introspection and revocation as a structured token it cannot look up
 * (400 unsupported_token_type) where it is just an unknown token (inactive, RFC 7662; ignored, RFC 7009).
 */
export function isStructuredToken(value: unknown): value is string {
  return typeof value === 'string' && (isJwtShaped(value) || hasReadableHeader(value));
}

/** A compact JWS with a readable header. Anything else is not worth a verification. */
function looksLikeJwt(value: string): boolean {
  return isJwtShaped(value) && hasReadableHeader(value);
}

function isAccessTokenClaims(payload: JWTPayload): payload is AccessTokenClaims {
  return (
    typeof payload.jti === 'string' &&
    typeof payload.client_id === 'string' &&
    typeof payload.exp === 'number' &&
    typeof payload.iat === 'number'
  );
}

/** The grant a user's token was issued under; undefined for a client_credentials token. */
export function grantIdOf(claims: AccessTokenClaims): string | undefined {
  const grantId = claims[GRANT_ID_CLAIM];
  return typeof grantId === 'string' ? grantId : undefined;
}

export interface AccessTokensOptions {
  issuer: string;
  publicKeys: JSONWebKeySet;
  store: Pick<OidcStore, 'markRevoked' | 'anyRevoked'>;
}

export class AccessTokens {
  readonly #issuer: string;
  readonly #store: AccessTokensOptions['store'];
  readonly #verified = new LRUCache<string, AccessTokenClaims>({ max: VERIFIED_TOKENS });
  #keySet: ReturnType<typeof createLocalJWKSet>;

  constructor({ issuer, publicKeys, store }: AccessTokensOptions) {
    this.#issuer = issuer;
    this.#store = store;
    this.#keySet = createLocalJWKSet(publicKeys);
  }

  /** Verifies tokens against `publicKeys` from now on (the served key set changed: src/keys/key-set-watch.ts). */
  useKeys(publicKeys: JSONWebKeySet): void {
    this.#keySet = createLocalJWKSet(publicKeys);
    this.#verified.clear();
  }

  /** The claims of a JWT access token this server issued, signed by a key served now and not expired; else undefined. */
  async verify(token: string): Promise<AccessTokenClaims | undefined> {
    const remembered = this.#verified.get(token);
    if (remembered) return remembered.exp * 1000 > Date.now() ? remembered : undefined;
    if (!looksLikeJwt(token)) return undefined;
    const keySet = this.#keySet;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, { issuer: this.#issuer, typ: 'at+jwt' }));
    } catch {
      return undefined;
    }
    if (!isAccessTokenClaims(payload)) return undefined;
    // A rotation while this verification ran must not leave behind a token verified with the old set.
    if (keySet === this.#keySet) this.#verified.set(token, payload, { ttl: payload.exp * 1000 - Date.now() });
    return payload;
  }

  /** Whether the token, or the grant it was issued under, was revoked: one store round trip. */
  isRevoked(claims: AccessTokenClaims): Promise<boolean> {
    const grantId = grantIdOf(claims);
    return this.#store.anyRevoked(grantId ? [tokenMark(claims.jti), grantMark(grantId)] : [tokenMark(claims.jti)]);
  }

  /** The claims of a live token: verified and not revoked. */
  async live(token: string): Promise<AccessTokenClaims | undefined> {
    const claims = await this.verify(token);
    return claims && !(await this.isRevoked(claims)) ? claims : undefined;
  }

  /** Revokes this one token (RFC 7009) until it expires. */
  revoke(claims: AccessTokenClaims): Promise<void> {
    return this.#store.markRevoked([tokenMark(claims.jti)], claims.exp - Math.floor(Date.now() / 1000));
  }
}
