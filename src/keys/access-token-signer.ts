// Signs the access tokens this server issues without the provider (src/provider/client-credentials-grant.ts) with the
// key the provider itself would pick: of the served private keys (KeyStore.privateJwks order: active first), the
// first one for the algorithm, as oidc-provider's keystore selects it for a resource server's `jwt.sign.alg`. The key
// objects are built once per key set, never per token.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { PrivateJwk } from './key-store.js';

interface SigningKey {
  kid: string;
  alg: string;
  key: KeyObject;
}

export class AccessTokenSigner {
  #key: SigningKey;

  constructor(
    private readonly alg: string,
    jwks: readonly PrivateJwk[],
  ) {
    this.#key = this.#select(jwks);
  }

  /** Signs with the new key set from now on (src/keys/key-set-watch.ts). */
  useKeys(jwks: readonly PrivateJwk[]): void {
    this.#key = this.#select(jwks);
  }

  /** An RFC 9068 access token: `typ: at+jwt`, the signing key's kid. */
  sign(payload: JWTPayload): Promise<string> {
    const { alg, kid, key } = this.#key;
    return new SignJWT(payload).setProtectedHeader({ alg, typ: 'at+jwt', kid }).sign(key);
  }

  #select(jwks: readonly PrivateJwk[]): SigningKey {
    const jwk = jwks.find((candidate) => candidate.alg === this.alg && candidate.use === 'sig');
    if (!jwk) throw new Error(`no ${this.alg} signing key in the served key set`);
    return { kid: jwk.kid, alg: jwk.alg, key: createPrivateKey({ key: jwk as never, format: 'jwk' }) };
  }
}
