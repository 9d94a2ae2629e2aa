import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import type { DataSource, Repository } from 'typeorm';
import type { SigningAlgorithm } from '../../config/index.js';
import type { SecretBox } from '../security/secret-box.js';
import { type SigningKey, SigningKeyEntity } from './signing-key-entity.js';

const KEY_PURPOSE = 'signing-key';
const STATE_ORDER = { active: 0, next: 1, retiring: 2 } as const;

/** A private JWK ready for oidc-provider's `jwks` option. */
export type PrivateJwk = JWK & { kid: string; alg: string; use: 'sig' };

async function generate(alg: SigningAlgorithm): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

/**
 * The provider's signing keys, kept in signing_keys (private parts sealed with AUTH_SECRET_KEY) and shared by
 * every node: a key is created once, by whichever node first finds none for an algorithm, never per process.
 */
export class KeyStore {
  readonly #keys: Repository<SigningKey>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: SecretBox,
  ) {
    this.#keys = dataSource.getRepository(SigningKeyEntity);
  }

  /** Makes sure each algorithm has an active key; creation is serialized across nodes sharing PostgreSQL. */
  async ensureActiveKeys(algorithms: readonly SigningAlgorithm[]): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (this.dataSource.options.type === 'postgres') {
        // Serializes first-start key creation between nodes; released at commit.
        await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['chillfi3-auth:signing-keys']);
      }
      const keys = manager.getRepository(SigningKeyEntity);
      for (const alg of new Set(algorithms)) {
        if (await keys.existsBy({ alg, state: 'active' })) continue;
        const jwk = await generate(alg);
        await keys.insert({
          kid: jwk.kid,
          alg,
          state: 'active',
          privateJwkEncrypted: await this.secrets.seal(JSON.stringify(jwk), KEY_PURPOSE),
          activatedAt: new Date(),
          retiredAt: null,
        });
      }
    });
  }

  /** Every published key, the active ones first (oidc-provider signs with the first key of an algorithm). */
  async privateJwks(): Promise<PrivateJwk[]> {
    const rows = await this.#keys.find();
    rows.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.createdAt.getTime() - a.createdAt.getTime());
    return Promise.all(rows.map(async (row) => JSON.parse(await this.secrets.open(row.privateJwkEncrypted, KEY_PURPOSE)) as PrivateJwk));
  }
}
