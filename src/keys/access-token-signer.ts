// Signs the access tokens this server issues without the provider (src/provider/client-credentials-grant.ts) with the
// key the provider itself would pick: of the served private keys (KeyStore.privateJwks order: active first), the
// first one for the algorithm, as oidc-provider's keystore selects it for a resource server's `jwt.sign.alg`.
//
// The compact JWS is put together here rather than by jose: jose signs through WebCrypto, which hands every signature
// to the thread pool and back, and at issuance rates that round trip costs as much as the signature itself
// (bench/run.ts). node:crypto signs synchronously with the same key; the serialization is RFC 7515 §7.1's
// `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)`, and test/keys/access-token-signer.test.ts checks
// that jose verifies what comes out, for every algorithm the configuration accepts.
import { constants, createPrivateKey, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { SigningAlgorithm } from '../../config/index.js';
import type { PrivateJwk } from './key-store.js';

/** How each JWS algorithm (RFC 7518 §3, RFC 8037) is computed by node:crypto: its digest and signature options. */
const ALGORITHMS: Record<SigningAlgorithm, { digest: string | null; options: Omit<SignKeyObjectInput, 'key'> }> = {
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { digest: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  PS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  EdDSA: { digest: null, options: {} },
};

interface SigningKey {
  /** The protected header, already encoded: the same for every token until the keys change. */
  encodedHeader: string;
  key: KeyObject;
}

export class AccessTokenSigner {
  #key: SigningKey;

  constructor(
    private readonly alg: SigningAlgorithm,
    jwks: readonly PrivateJwk[],
  ) {
    this.#key = this.#select(jwks);
  }

  /** Signs with the new key set from now on (src/keys/key-set-watch.ts). */
  useKeys(jwks: readonly PrivateJwk[]): void {
    this.#key = this.#select(jwks);
  }

  /** An RFC 9068 access token: `typ: at+jwt`, the signing key's kid. */
  sign(payload: JWTPayload): string {
    const { encodedHeader, key } = this.#key;
    const { digest, options } = ALGORITHMS[this.alg];
    const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature = sign(digest, Buffer.from(signingInput), { ...options, key });
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  #select(jwks: readonly PrivateJwk[]): SigningKey {
    const jwk = jwks.find((candidate) => candidate.alg === this.alg && candidate.use === 'sig');
    if (!jwk) throw new Error(`no ${this.alg} signing key in the served key set`);
    const header = { alg: this.alg, typ: 'at+jwt', kid: jwk.kid };
    return {
      encodedHeader: Buffer.from(JSON.stringify(header)).toString('base64url'),
      key: createPrivateKey({ key: jwk as never, format: 'jwk' }),
    };
  }
}
