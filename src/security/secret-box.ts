import { hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/** Derives a purpose-bound key from AUTH_SECRET_KEY (HKDF-SHA256), so one secret can serve several uses. */
export function deriveKey(secretKey: string, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'chillfi3-auth', purpose, length));
}

/**
 * Encrypts secrets at rest (client secrets, private signing keys) as compact JWE (dir + A256GCM) under a key
 * derived from AUTH_SECRET_KEY. The `purpose` is bound as additional data, so a value sealed for one column
 * cannot be replayed into another. While the master secret is being rotated, values sealed under a previous one
 * (AUTH_SECRET_KEY_PREVIOUS) still open; sealing always uses the current one, and `reseal` moves a value over.
 */
export class SecretBox {
  readonly #keys: Uint8Array[];

  constructor(secretKey: string, previousSecretKeys: readonly string[] = []) {
    this.#keys = [secretKey, ...previousSecretKeys].map((secret) => deriveKey(secret, 'secret-box'));
  }

  async seal(plaintext: string, purpose: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', purpose })
      .encrypt(this.#keys[0]!);
  }

  async open(sealed: string, purpose: string): Promise<string> {
    return (await this.#decrypt(sealed, purpose)).plaintext;
  }

  /** `sealed` under the current secret: the same string when it already is, a fresh seal of its plaintext otherwise. */
  async reseal(sealed: string, purpose: string): Promise<string> {
    const { plaintext, current } = await this.#decrypt(sealed, purpose);
    return current ? sealed : this.seal(plaintext, purpose);
  }

  async #decrypt(sealed: string, purpose: string): Promise<{ plaintext: string; current: boolean }> {
    let failure: unknown;
    for (const [index, key] of this.#keys.entries()) {
      try {
        const { plaintext, protectedHeader } = await compactDecrypt(sealed, key);
        if (protectedHeader.purpose !== purpose) throw new Error(`sealed value is for "${String(protectedHeader.purpose)}", not "${purpose}"`);
        return { plaintext: new TextDecoder().decode(plaintext), current: index === 0 };
      } catch (error) {
        failure ??= error;
      }
    }
    throw failure;
  }
}
