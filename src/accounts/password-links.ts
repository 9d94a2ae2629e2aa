// Set-password links: what an admin hands a person whose account has no password (new, imported without one, or
// reset). The link carries a random secret; only its SHA-256 is stored, so a database copy opens no account. A link
// works once (redeemed by one conditional UPDATE: of concurrent uses exactly one wins) until it expires; issuing a
// new one for an account withdraws the older ones, and so does any change of its password (AccountOperations): a link
// is for the password the account had when it was issued.
import { createHash, randomBytes } from 'node:crypto';
import { IsNull, LessThanOrEqual, MoreThan, type DataSource, type EntityManager, type Repository } from 'typeorm';
import { type PasswordLink, PasswordLinkEntity } from './password-link-entity.js';

export interface IssuedPasswordLink {
  /** The secret to put in the link: shown once, never stored. */
  secret: string;
  expiresAt: Date;
}

/** The page a set-password link opens (src/web/set-password.ts serves it). */
export const SET_PASSWORD_PATH = '/set-password';

/** The address of the set-password page that opens with a link's secret. */
export function setPasswordUrl(issuer: string, secret: string): string {
  const url = new URL(`${issuer}${SET_PASSWORD_PATH}`);
  url.searchParams.set('token', secret);
  return url.toString();
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class PasswordLinks {
  readonly #links: Repository<PasswordLink>;

  constructor(
    dataSource: DataSource,
    private readonly ttlSeconds: number,
  ) {
    this.#links = dataSource.getRepository(PasswordLinkEntity);
  }

  /** A new link for the account; within `manager`'s transaction when given (a mail queued with it: src/mail/). */
  async issue(accountId: string, manager?: EntityManager): Promise<IssuedPasswordLink> {
    const links = manager ? manager.getRepository(PasswordLinkEntity) : this.#links;
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000);
    // Withdraws the account's older links, and clears out every expired one while at it.
    await links.delete({ accountId });
    await links.delete({ expiresAt: LessThanOrEqual(new Date()) });
    await links.insert({ id: digest(secret), accountId, expiresAt, usedAt: null });
    return { secret, expiresAt };
  }

  /** Withdraws every link of the account: none of them works any more. */
  async withdraw(accountId: string): Promise<void> {
    await this.#links.delete({ accountId });
  }

  /** The account a live, unused link opens (without using it), or null. */
  async accountOf(secret: string): Promise<string | null> {
    const link = await this.#links.findOneBy({ id: digest(secret), usedAt: IsNull(), expiresAt: MoreThan(new Date()) });
    return link?.accountId ?? null;
  }

  /** Uses the link: the account it opens, or null when it is unknown, used or expired. */
  async redeem(secret: string): Promise<string | null> {
    const id = digest(secret);
    const now = new Date();
    const result = await this.#links.update({ id, usedAt: IsNull(), expiresAt: MoreThan(now) }, { usedAt: now });
    if (result.affected !== 1) return null;
    return (await this.#links.findOneBy({ id }))?.accountId ?? null;
  }
}
