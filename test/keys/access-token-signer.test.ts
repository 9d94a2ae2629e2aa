import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { AccessTokenSigner } from '../../src/keys/access-token-signer.js';
import { generateSigningKey, publicJwks } from '../../src/keys/key-store.js';

describe('AccessTokenSigner', function () {
  for (const alg of ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const) {
    it(`signs ${alg} tokens that jose verifies, with the first ${alg} key of the served set`, async function () {
      const other = await generateSigningKey(alg === 'ES256' ? 'RS256' : 'ES256');
      const [first, second] = [await generateSigningKey(alg), await generateSigningKey(alg)];
      const signer = new AccessTokenSigner(alg, [other, first!, second!]);
      const payload = { jti: 'jti-é', sub: 'client', iat: 1_795_000_000, exp: 4_102_444_800, client_id: 'client', iss: 'https://auth.example', aud: 'client' };
      const token = signer.sign(payload);
      expect(decodeProtectedHeader(token)).to.deep.equal({ alg, typ: 'at+jwt', kid: first!.kid });
      const verified = await jwtVerify(token, createLocalJWKSet(publicJwks([first!])), { typ: 'at+jwt', algorithms: [alg] });
      expect(verified.payload).to.deep.equal(payload);
      // Another key of the same algorithm under the signer's kid: the signature itself must not verify.
      await jwtVerify(token, createLocalJWKSet(publicJwks([{ ...second!, kid: first!.kid }]))).then(
        () => expect.fail('verified with another key'),
        (error: Error) => expect(error.name).to.equal('JWSSignatureVerificationFailed'),
      );
    });
  }

  it('signs with the new key set once told of it, and refuses a set without a key for its algorithm', async function () {
    const [before, after] = [await generateSigningKey('ES256'), await generateSigningKey('ES256')];
    const signer = new AccessTokenSigner('ES256', [before]);
    signer.useKeys([after]);
    expect(decodeProtectedHeader(signer.sign({ sub: 'x' })).kid).to.equal(after.kid);
    const rsaOnly = [await generateSigningKey('RS256')];
    expect(() => new AccessTokenSigner('ES256', rsaOnly)).to.throw('no ES256 signing key');
  });
});
