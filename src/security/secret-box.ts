import { hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/** Derives a purpose-bound key from AUTH_SECRET_KEY (HKDF-SHA256), so one secret can serve several uses. */
export function deriveKey(secretKey: string, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'chillfi3-auth', purpose, length));
}

/**
 * Encrypts secrets at rest (client secrets, private signing keys) as compact JWE (dir + A256GCM) under a key
 * derived from AUTH_SECRET_KEY. The `purpose` is bound as additional data, so a value sealed for one column
 * cannot be replayed into another.
 */
export class SecretBox {
  readonly #key: Uint8Array;

  constructor(secretKey: string) {
    this.#key = deriveKey(secretKey, 'secret-box');
  }

  async seal(plaintext: string, purpose: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', purpose })
      .encrypt(this.#key);
  }

  async open(sealed: string, purpose: string): Promise<string> {
    const { plaintext, protectedHeader } = await compactDecrypt(sealed, this.#key);
    if (protectedHeader.purpose !== purpose) throw new Error(`sealed value is for "${String(protectedHeader.purpose)}", not "${purpose}"`);
    return new TextDecoder().decode(plaintext);
  }
}
