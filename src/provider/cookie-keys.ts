import type { Config } from '../../config/index.js';
import { deriveKey } from '../security/secret-box.js';

/**
 * Cookie signing keys, derived from AUTH_SECRET_KEY so that every node signs and checks cookies alike. Keygrip signs
 * with the first and accepts any, re-signing a cookie it accepted under a previous master secret with the current one.
 */
export function cookieKeys(config: Config): string[] {
  return [config.secretKey, ...config.previousSecretKeys].map((secret) => deriveKey(secret, 'cookies').toString('base64url'));
}
