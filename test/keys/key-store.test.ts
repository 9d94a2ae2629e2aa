import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import { loadConfig } from '../../config/index.js';
import { openStores, type Stores } from '../../src/stores.js';
import { SigningKeyEntity } from '../../src/keys/signing-key-entity.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { startTestServer } from '../support/test-server.js';

describe('KeyStore (PostgreSQL)', function () {
  let database: ScratchDatabase;
  let nodes: Stores[];
  before(async function () {
    database = await scratchPostgres();
    const config = loadConfig({ ...database.env, AUTH_SECRET_KEY: 's'.repeat(40) });
    const first = await openStores(config, { schema: 'migrate' });
    nodes = [first, await openStores(config, { schema: 'require-current' }), await openStores(config, { schema: 'require-current' })];
  });
  after(async function () {
    for (const node of nodes) await node.close();
    await database.drop();
  });

  it('creates one active key per algorithm however many nodes start at once, and all nodes share it', async function () {
    await Promise.all(nodes.map((node) => node.keys.ensureActiveKeys(['ES256', 'RS256'])));
    const rows = await nodes[0]!.dataSource.getRepository(SigningKeyEntity).find();
    expect(rows.map((row) => row.alg).sort()).to.deep.equal(['ES256', 'RS256']);
    const kids = await Promise.all(nodes.map(async (node) => (await node.keys.privateJwks()).map((jwk) => jwk.kid).sort()));
    expect(kids[1]).to.deep.equal(kids[0]);
    expect(kids[2]).to.deep.equal(kids[0]);
  });

  it('keeps private keys encrypted at rest', async function () {
    const rows = await nodes[0]!.dataSource.getRepository(SigningKeyEntity).find();
    for (const row of rows) {
      expect(row.privateJwkEncrypted).to.not.contain('"d"');
      expect(decodeProtectedHeader(row.privateJwkEncrypted)).to.include({ alg: 'dir', enc: 'A256GCM' });
    }
  });

  it('publishes the public halves only at /jwks', async function () {
    const a = await startTestServer('sqlite');
    try {
      const jwks = (await (await fetch(`${a.issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
      expect(jwks.keys).to.have.length(2);
      expect(jwks.keys.every((key) => key.d === undefined), 'no private parts published').to.equal(true);
    } finally {
      await a.close();
    }
  });
});
