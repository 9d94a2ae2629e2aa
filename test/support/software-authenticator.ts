// A WebAuthn authenticator in Node, for the tests and the benchmark that check passkey answers without a browser:
// one ES256 key, its COSE public key as a registration stores it, and assertions signed over authenticator data and
// client data the caller may get wrong on purpose (another origin, another rpID, no user verification, an old
// counter). Hand-written because no library here plays the authenticator's side; the server's checks are the library's.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

export interface AssertionOptions {
  challenge: string;
  origin: string;
  rpId: string;
  counter: number;
  /** The UV flag: the authenticator verified its user (default true). */
  userVerified?: boolean;
  /** The user handle to return (base64url); undefined sends none. */
  userHandle?: string;
}

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;

export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(16).toString('base64url');
  readonly #privateKey: KeyObject;
  /** The COSE_Key of the public key (EC2, P-256, ES256), base64url, as PasskeyStore keeps it. */
  readonly publicKey: string;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y as string, 'base64url'))],
    ]);
    this.publicKey = Buffer.from(isoCBOR.encode(cose)).toString('base64url');
  }

  /** An AuthenticationResponseJSON, as JSON text, for these options. */
  assertion({ challenge, origin, rpId, counter, userVerified = true, userHandle }: AssertionOptions): string {
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }));
    const counterBytes = Buffer.alloc(4);
    counterBytes.writeUInt32BE(counter);
    const flags = FLAG_USER_PRESENT | (userVerified ? FLAG_USER_VERIFIED : 0);
    const authenticatorData = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), counterBytes]);
    const signature = sign('sha256', Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), this.#privateKey);
    return JSON.stringify({
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle === undefined ? {} : { userHandle }),
      },
    });
  }
}
