// Enrolment tokens: what an admin hands the operator of a new ChillFi3 server so that it registers itself (RFC 7591
// initial access tokens). Only the SHA-256 of a token is stored, so a database copy enrols nothing. A token works once:
// redeeming is one conditional UPDATE, so of concurrent registrations with one token exactly one wins, on any number
// of nodes and on every database. It expires, and an admin may withdraw it (the row goes) until it is used.
import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { IsNull, LessThanOrEqual, MoreThan, type DataSource, type Repository } from 'typeorm';
import { isStorable } from '../db/storable.js';
import { BadRequest } from '../errors.js';
import { type EnrolmentToken, EnrolmentTokenEntity } from './enrolment-token-entity.js';
import type { AccessPolicy } from './instance-entity.js';

/** Shortest and longest life of a token: a minute to thirty days. */
export const MIN_ENROLMENT_TTL = 60;
export const MAX_ENROLMENT_TTL = 30 * 24 * 3600;
export const DEFAULT_ENROLMENT_TTL = 3600;
/** What every enrolment token starts with, so that a person (and a secret scanner) can tell one. */
const TOKEN_PREFIX = 'cf3e_';

/** What the token fixes for the instance it enrols. */
export interface EnrolmentTerms {
  /** Seconds it stays valid: MIN_ENROLMENT_TTL to MAX_ENROLMENT_TTL (DEFAULT_ENROLMENT_TTL when unset). */
  ttlSeconds?: number;
  /** The instance's name whatever it asks for; unset: the client_name it registers with. */
  name?: string | null;
  /** Who may sign in to it (default `open`, as for an instance registered in the console). */
  accessPolicy?: AccessPolicy;
  /** Whether it may ask for the `admin` scope (default no). */
  allowAdmin?: boolean;
}

export interface IssuedEnrolmentToken {
  /** The token itself: shown once, never stored. */
  token: string;
  record: EnrolmentToken;
}

export function digestEnrolmentToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function checkTerms(terms: EnrolmentTerms): Required<EnrolmentTerms> {
  const ttlSeconds = terms.ttlSeconds ?? DEFAULT_ENROLMENT_TTL;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < MIN_ENROLMENT_TTL || ttlSeconds > MAX_ENROLMENT_TTL) {
    throw new BadRequest(`an enrolment token lives ${MIN_ENROLMENT_TTL} seconds to ${MAX_ENROLMENT_TTL / 86_400} days`);
  }
  const name = terms.name?.trim() || null;
  if (name !== null && name.length > 100) throw new BadRequest('name must be 1 to 100 characters');
  const accessPolicy = terms.accessPolicy ?? 'open';
  if (accessPolicy !== 'open' && accessPolicy !== 'invite') throw new BadRequest('access policy must be "open" or "invite"');
  return { ttlSeconds, name, accessPolicy, allowAdmin: terms.allowAdmin === true };
}

export class EnrolmentTokens {
  readonly #tokens: Repository<EnrolmentToken>;

  constructor(dataSource: DataSource) {
    this.#tokens = dataSource.getRepository(EnrolmentTokenEntity);
  }

  async issue(terms: EnrolmentTerms, createdBy: string | null): Promise<IssuedEnrolmentToken> {
    const { ttlSeconds, ...fixed } = checkTerms(terms);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    // Clears out the expired ones that were never used while at it; the used ones stay, naming what they enrolled.
    await this.#tokens.delete({ expiresAt: LessThanOrEqual(new Date()), usedAt: IsNull() });
    const record = this.#tokens.create({
      ...fixed,
      id: uuidv7(),
      tokenHash: digestEnrolmentToken(token),
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      usedAt: null,
      instanceId: null,
      createdBy,
    });
    await this.#tokens.insert(record);
    return { token, record: await this.#tokens.findOneByOrFail({ id: record.id }) };
  }

  /** The token's record while it may still be used (unused, not expired, not withdrawn), without using it. */
  async live(token: string): Promise<EnrolmentToken | null> {
    if (!isStorable(token)) return null;
    return this.#tokens.findOneBy({ tokenHash: digestEnrolmentToken(token), usedAt: IsNull(), expiresAt: MoreThan(new Date()) });
  }

  /** Uses the token: its record, or null when it is unknown, used, expired or withdrawn. */
  async redeem(token: string): Promise<EnrolmentToken | null> {
    if (!isStorable(token)) return null;
    const tokenHash = digestEnrolmentToken(token);
    const now = new Date();
    const result = await this.#tokens.update({ tokenHash, usedAt: IsNull(), expiresAt: MoreThan(now) }, { usedAt: now });
    if (result.affected !== 1) return null;
    return this.#tokens.findOneBy({ tokenHash });
  }

  /** Gives a redeemed token back, when the registration it was redeemed for failed after all. */
  async release(id: string): Promise<void> {
    await this.#tokens.update({ id, instanceId: IsNull() }, { usedAt: null });
  }

  /** Records the instance a redeemed token registered. */
  async settle(id: string, instanceId: string): Promise<void> {
    await this.#tokens.update({ id }, { instanceId });
  }

  /** Withdraws an unused token; false when there is no such token or it was used already. */
  async withdraw(id: string): Promise<EnrolmentToken | null> {
    if (!isStorable(id)) return null;
    const token = await this.#tokens.findOneBy({ id, usedAt: IsNull() });
    if (!token) return null;
    const result = await this.#tokens.delete({ id, usedAt: IsNull() });
    return result.affected === 1 ? token : null;
  }

  /** The tokens that may still be used, newest first. */
  listLive(): Promise<EnrolmentToken[]> {
    return this.#tokens.find({ where: { usedAt: IsNull(), expiresAt: MoreThan(new Date()) }, order: { createdAt: 'DESC', id: 'DESC' } });
  }
}
