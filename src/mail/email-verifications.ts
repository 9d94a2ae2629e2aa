// Address-verification links: mailed to a new or changed address; following one marks that address verified
// (`email_verified` in tokens and userinfo, docs/claims.md). As with set-password links only the SHA-256 of the
// secret is stored; a link works once, and only while the account still has the address it was made for.
import { createHash, randomBytes } from 'node:crypto';
import { LessThanOrEqual, MoreThan, type DataSource, type EntityManager, type Repository } from 'typeorm';
import type { AccountStore } from '../accounts/account-store.js';
import { type EmailVerification, EmailVerificationEntity } from './email-verification-entity.js';

/** How long a verification link works. */
export const EMAIL_VERIFICATION_TTL_SECONDS = 7 * 86_400;

/** The page a verification link opens (src/web/verify-email-routes.ts). */
export const VERIFY_EMAIL_PATH = '/verify-email';

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function verifyEmailUrl(issuer: string, secret: string): string {
  const url = new URL(`${issuer}${VERIFY_EMAIL_PATH}`);
  url.searchParams.set('token', secret);
  return url.toString();
}

export class EmailVerifications {
  readonly #links: Repository<EmailVerification>;

  constructor(
    dataSource: DataSource,
    private readonly accounts: AccountStore,
    private readonly clock: () => number = Date.now,
  ) {
    this.#links = dataSource.getRepository(EmailVerificationEntity);
  }

  /** A new link for the address (older ones of the account withdrawn), in `manager`'s transaction. */
  async issue(accountId: string, email: string, manager: EntityManager): Promise<{ secret: string; expiresAt: Date }> {
    const links = manager.getRepository(EmailVerificationEntity);
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(this.clock() + EMAIL_VERIFICATION_TTL_SECONDS * 1000);
    await links.delete({ accountId });
    await links.delete({ expiresAt: LessThanOrEqual(new Date(this.clock())) });
    await links.insert({ id: digest(secret), accountId, email, expiresAt, createdAt: new Date(this.clock()) });
    return { secret, expiresAt };
  }

  /** The live link's account and address, without using it; null when unknown, used or expired. */
  async find(secret: string): Promise<{ accountId: string; email: string } | null> {
    if (secret.length > 100) return null;
    const link = await this.#links.findOneBy({ id: digest(secret), expiresAt: MoreThan(new Date(this.clock())) });
    return link ? { accountId: link.accountId, email: link.email } : null;
  }

  /**
   * Uses the link: of any number of uses at once one deletes it and goes on; the address is marked verified if the
   * account still has it. The account id, or null when the link was unknown, used, expired or for another address.
   */
  async verify(secret: string): Promise<string | null> {
    const link = await this.find(secret);
    if (!link) return null;
    const removed = await this.#links.delete({ id: digest(secret) });
    if (removed.affected !== 1) return null;
    return (await this.accounts.markEmailVerified(link.accountId, link.email)) ? link.accountId : null;
  }
}
