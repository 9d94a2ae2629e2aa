// Access tokens are self-contained JWTs: nothing is stored when one is issued. What revokes them is a mark in the
// oidc-provider store (adapters/), living until every token it covers has expired:
//  - a grant's mark, written whenever the grant's tokens are revoked (the adapters write it in revokeByGrantId and
//    when a Grant is destroyed), covers every access token carrying that grant id (the `grant_id` claim);
//  - a token's mark, written when an instance revokes that one token (RFC 7009), covers the token with that jti.
// Introspection and the user API check a token's marks in one store round trip (src/provider/access-tokens.ts).

/** The store model the marks are kept under. */
export const REVOCATION_MODEL = 'Revocation';

/** The claim of a user's access token naming its grant (client_credentials tokens have none). */
export const GRANT_ID_CLAIM = 'grant_id';

/**
 * How long a grant's mark lasts when the store is not told the configured access-token lifetime: TOKEN_TTL's
 * largest accepted value (config/index.ts), so no token can outlive its grant's mark.
 */
export const LONGEST_ACCESS_TOKEN_SECONDS = 86_400;

export function grantMark(grantId: string): string {
  return `grant:${grantId}`;
}

export function tokenMark(jti: string): string {
  return `jti:${jti}`;
}
