/**
 * What a store keeps of a code or refresh token once it is consumed. Such a record lives on for the rest of its
 * lifetime (a refresh token: REFRESH_TTL, 7 days) only so that a second redemption is recognised as reuse and revokes
 * the grant. That needs the `consumed` mark, and every field oidc-provider 9 reads before it looks at `consumed`, so
 * that a reused artifact still reaches the revocation, and one refused for another reason is still refused for it:
 * - both: the opaque format's checks and `find` (`jti`, `kind`, `iat`, `exp`), the client match (`clientId`), expiry
 *   (`exp`), the session binding of a token that expires with its session (`expiresWithSession`, `sessionUid`,
 *   `accountId`, `grantId`), the grant check (`grantId`), and attestation binding (`attestationJkt`);
 *   adapters/model-adapter.ts reads `grantId` too, after losing a race to consume;
 * - AuthorizationCode (lib/actions/grants/authorization_code.js): PKCE (`codeChallenge`, `codeChallengeMethod`) and
 *   `redirectUri`;
 * - RefreshToken (lib/actions/grants/refresh_token.js): sender constraints (`x5t#S256`, `jkt`), the scope check of a
 *   request that names a scope (`scope`), the account and its match with the grant (`accountId`).
 * The claims, nonce, resource, authorization details and authentication context go: only a fresh token needs them.
 * Other consumable models (pushed authorization requests, device codes) are short-lived and kept whole.
 */
import type { AdapterPayload } from 'oidc-provider';

const readBeforeConsumedCheck = [
  'jti',
  'kind',
  'iat',
  'exp',
  'clientId',
  'grantId',
  'accountId',
  'expiresWithSession',
  'sessionUid',
  'attestationJkt',
];

const keptWhenConsumed: Readonly<Record<string, readonly string[]>> = {
  AuthorizationCode: [...readBeforeConsumedCheck, 'codeChallenge', 'codeChallengeMethod', 'redirectUri'],
  RefreshToken: [...readBeforeConsumedCheck, 'x5t#S256', 'jkt', 'scope'],
};

/** The payload a record of `model` keeps once consumed at `consumedAt` (epoch seconds). */
export function consumedPayload(model: string, payload: AdapterPayload, consumedAt: number): AdapterPayload {
  const kept = keptWhenConsumed[model];
  const slim: AdapterPayload = kept
    ? Object.fromEntries(kept.filter((key) => payload[key] !== undefined).map((key) => [key, payload[key]]))
    : { ...payload };
  slim.consumed = consumedAt;
  return slim;
}
