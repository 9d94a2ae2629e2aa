import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { openStores, type Stores } from '../../src/stores.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

describe('AccountStore (PostgreSQL)', function () {
  let database: ScratchDatabase;
  let stores: Stores;
  before(async function () {
    database = await scratchPostgres();
    stores = await openStores(loadConfig({ ...database.env, AUTH_SECRET_KEY: TEST_SECRET_KEY }), { schema: 'migrate' });
  });
  after(async function () {
    await stores?.close();
    await database?.drop();
  });

  it('finds nobody by a username or id with a NUL character, which PostgreSQL cannot hold', async function () {
    const { accounts } = stores;
    const account = await accounts.create({ username: 'nina', passwordHash: null });
    expect(await accounts.findByUsername('nina\0')).to.equal(null);
    expect(await accounts.findForLogin('ni\0na')).to.equal(null);
    expect(await accounts.find(`${account.id}\0`)).to.equal(null);
    expect((await accounts.findByUsername('nina'))?.id, 'the account itself is there').to.equal(account.id);
  });
});
