// What a new password must be, wherever one is set (CLI, API, set-password page). NIST SP 800-63B: a minimum length,
// a generous maximum, no composition rules. The maximum bounds the work a request can make argon2 do.
import { BadRequest } from '../errors.js';

/** The longest password accepted, in characters: far beyond any passphrase, far below a costly input. */
export const MAX_PASSWORD_LENGTH = 1024;

export class PasswordPolicy {
  constructor(readonly minLength: number) {}

  /** The password, or BadRequest saying which rule it breaks. */
  check(password: string, username: string): string {
    const length = [...password].length;
    if (length < this.minLength) throw new BadRequest(`the password must be at least ${this.minLength} characters long`);
    if (length > MAX_PASSWORD_LENGTH) throw new BadRequest(`the password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
    if (password.toLowerCase() === username.toLowerCase()) throw new BadRequest('the password must not be the username');
    if (password.includes('\0')) throw new BadRequest('the password must not contain a NUL character');
    return password;
  }
}
