import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import { type DataSource, type EntityManager, type Repository } from 'typeorm';
import type { SigningAlgorithm } from '../../config/index.js';
import { Conflict, NotFound } from '../errors.js';
import type { SecretBox } from '../security/secret-box.js';
import { type SigningKey, SigningKeyEntity } from './signing-key-entity.js';

const KEY_PURPOSE = 'signing-key';
/** Every column but the sealed private key: what listing keys and moving them on need. */
const SUMMARY_COLUMNS = { kid: true, alg: true, state: true, createdAt: true, activatedAt: true, retiredAt: true } as const;
const STATE_ORDER = { active: 0, next: 1, retiring: 2 } as const;

/** A private JWK ready for oidc-provider's `jwks` option. */
export type PrivateJwk = JWK & { kid: string; alg: string; use: 'sig' };

/** A signing key as listed: everything but its private part. */
export type SigningKeySummary = Omit<SigningKey, 'privateJwkEncrypted'>;

/** When keys move from one state to the next (rotationTimes in src/keys/key-set-watch.ts). */
export interface RotationTimes {
  /** Seconds a next key is published before it signs. */
  publishSeconds: number;
  /** Seconds a retiring key stays published after it stopped signing. */
  retireSeconds: number;
  /** Days an active key signs before a replacement is staged; 0: never by schedule. */
  rotationDays: number;
}

/** What one pass of `advance` did. */
export interface KeyChanges {
  staged: string[];
  activated: string[];
  removed: string[];
}

/** The public halves of `jwks`, as a verifier's key set. */
export function publicJwks(jwks: readonly PrivateJwk[]): { keys: JWK[] } {
  return { keys: jwks.map(({ kid, alg, use, kty, crv, x, y, n, e }) => ({ kid, alg, use, kty, crv, x, y, n, e })) };
}

/** A new private signing key for `alg` (EdDSA: Ed25519), its kid the JWK thumbprint. */
export async function generateSigningKey(alg: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

function byState(a: SigningKeySummary, b: SigningKeySummary): number {
  return STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.createdAt.getTime() - a.createdAt.getTime();
}

/**
 * The provider's signing keys, kept in signing_keys (private parts sealed with AUTH_SECRET_KEY) and shared by
 * every node. A key's life: `next` (published, signs nothing, so that verifiers' JWKS caches learn it first) →
 * `active` (signs; one per algorithm) → `retiring` (published until every token it signed has expired) → removed.
 * Every change runs in one transaction, serialized across nodes sharing PostgreSQL, so nodes racing to make the
 * same change make it once.
 */
export class KeyStore {
  readonly #keys: Repository<SigningKey>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: SecretBox,
  ) {
    this.#keys = dataSource.getRepository(SigningKeyEntity);
  }

  /** Makes sure each algorithm has an active key (a first start, or a new algorithm configured). */
  async ensureActiveKeys(algorithms: readonly SigningAlgorithm[]): Promise<void> {
    await this.#change(async (keys) => {
      for (const alg of new Set(algorithms)) {
        if (!(await keys.existsBy({ alg, state: 'active' }))) await this.#insert(keys, alg, 'active', new Date());
      }
    });
  }

  /** Every key, without private parts, the active ones first. */
  async list(): Promise<SigningKeySummary[]> {
    const rows = await this.#keys.find({ select: SUMMARY_COLUMNS });
    return rows.sort(byState);
  }

  /**
   * What the key set is now, cheaply (no private parts read): every node compares it every few seconds and reloads
   * its keys when it differs.
   */
  async version(): Promise<string> {
    const rows = await this.#keys.find({ select: { kid: true, state: true }, order: { kid: 'ASC' } });
    return rows.map((row) => `${row.kid}:${row.state}`).join(',');
  }

  /** Every published key, the active ones first (oidc-provider signs with the first key of an algorithm). */
  async privateJwks(): Promise<PrivateJwk[]> {
    const rows = await this.#keys.find();
    rows.sort(byState);
    return Promise.all(rows.map(async (row) => JSON.parse(await this.secrets.open(row.privateJwkEncrypted, KEY_PURPOSE)) as PrivateJwk));
  }

  /** Stages a next key for each algorithm: published now, signing once the publish delay has passed. */
  async rotate(algorithms: readonly string[]): Promise<SigningKeySummary[]> {
    return this.#change(async (keys) => {
      const staged: SigningKeySummary[] = [];
      for (const alg of new Set(algorithms)) {
        if (!(await keys.existsBy({ alg, state: 'active' }))) throw new NotFound(`no active ${alg} key to rotate`);
        if (await keys.existsBy({ alg, state: 'next' })) throw new Conflict(`a next ${alg} key is already staged`);
        staged.push(await this.#insert(keys, alg, 'next', null));
      }
      return staged;
    });
  }

  /**
   * Ends a key's stage early. A next key is withdrawn (the rotation is cancelled). An active key stops signing at
   * once: its algorithm's next key takes over now, so one must be staged (`rotate`) first. A retiring key is removed
   * from the JWKS now: tokens it signed stop verifying (for a key that must not be trusted anymore).
   */
  async retire(kid: string, now = new Date()): Promise<{ removed: boolean; activated: string | null }> {
    return this.#change(async (keys) => {
      const key = await keys.findOneBy({ kid });
      if (!key) throw new NotFound(`no signing key ${kid}`);
      if (key.state !== 'active') {
        await keys.delete({ kid });
        return { removed: true, activated: null };
      }
      const next = await keys.findOneBy({ alg: key.alg, state: 'next' });
      if (!next) throw new Conflict(`${kid} is the only ${key.alg} key that can sign: stage its replacement with "keys rotate" first`);
      await this.#activate(keys, next.kid, key.alg, now);
      return { removed: false, activated: next.kid };
    });
  }

  /**
   * Moves every key whose time has come to its next state, as of `now`: stages a replacement of an active key older
   * than the rotation period, activates a next key published long enough (its predecessor starts retiring), and
   * removes a retiring key whose tokens have all expired. Every node runs it; the first to get there makes a change.
   */
  async advance(times: RotationTimes, now = new Date()): Promise<KeyChanges> {
    return this.#change(async (keys) => {
      const changes: KeyChanges = { staged: [], activated: [], removed: [] };
      // A handful of rows: compared here rather than in SQL, where SQLite's datetime text would need care.
      const rows = await keys.find({ select: SUMMARY_COLUMNS });
      const olderThan = (at: Date | null, seconds: number) => at !== null && now.getTime() - at.getTime() >= seconds * 1000;
      if (times.rotationDays > 0) {
        for (const active of rows.filter((row) => row.state === 'active' && olderThan(row.activatedAt, times.rotationDays * 86_400))) {
          if (rows.some((row) => row.alg === active.alg && row.state === 'next')) continue;
          changes.staged.push((await this.#insert(keys, active.alg, 'next', null, now)).kid);
        }
      }
      for (const next of rows.filter((row) => row.state === 'next' && olderThan(row.createdAt, times.publishSeconds))) {
        await this.#activate(keys, next.kid, next.alg, now);
        changes.activated.push(next.kid);
      }
      for (const retiring of rows.filter((row) => row.state === 'retiring' && olderThan(row.retiredAt, times.retireSeconds))) {
        await keys.delete({ kid: retiring.kid });
        changes.removed.push(retiring.kid);
      }
      return changes;
    });
  }

  /** Re-seals every private key under the current master secret; the number re-sealed. */
  async reseal(): Promise<number> {
    return this.#change(async (keys) => {
      let resealed = 0;
      for (const row of await keys.find()) {
        const sealed = await this.secrets.reseal(row.privateJwkEncrypted, KEY_PURPOSE);
        if (sealed === row.privateJwkEncrypted) continue;
        await keys.update({ kid: row.kid }, { privateJwkEncrypted: sealed });
        resealed++;
      }
      return resealed;
    });
  }

  async #activate(keys: Repository<SigningKey>, kid: string, alg: string, now: Date): Promise<void> {
    await keys.update({ alg, state: 'active' }, { state: 'retiring', retiredAt: now });
    await keys.update({ kid }, { state: 'active', activatedAt: now });
  }

  async #insert(keys: Repository<SigningKey>, alg: string, state: 'next' | 'active', activatedAt: Date | null, createdAt = new Date()) {
    const jwk = await generateSigningKey(alg);
    const row = {
      kid: jwk.kid,
      alg,
      state,
      privateJwkEncrypted: await this.secrets.seal(JSON.stringify(jwk), KEY_PURPOSE),
      createdAt,
      activatedAt,
      retiredAt: null,
    };
    await keys.insert(row);
    const { privateJwkEncrypted: _sealed, ...summary } = row;
    return summary;
  }

  /** Runs `work` in a transaction that holds the key set's lock on PostgreSQL (released at commit). */
  #change<T>(work: (keys: Repository<SigningKey>) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager: EntityManager) => {
      if (this.dataSource.options.type === 'postgres') {
        await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['chillfi3-auth:signing-keys']);
      }
      return work(manager.getRepository(SigningKeyEntity));
    });
  }
}
