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

  it('lists a page at a time, searched or not, and finds accounts by their ids', async function () {
    const { accounts } = stores;
    const made = [];
    for (const username of ['page-c', 'page-a', 'Page-B', 'other']) made.push(await accounts.create({ username, passwordHash: null }));
    const names = (found: { username: string }[]) => found.map((account) => account.username);
    expect(names(await accounts.list({ search: 'PAGE-', limit: 2 }))).to.deep.equal(['page-a', 'Page-B']);
    expect(names(await accounts.list({ search: 'page-', limit: 2, offset: 2 }))).to.deep.equal(['page-c']);
    expect(names(await accounts.list({ search: 'page-', offset: 1 }))).to.deep.equal(['Page-B', 'page-c']);
    expect((await accounts.list()).length, 'no limit: every account').to.equal((await accounts.list({ limit: 100 })).length);
    const found = await accounts.findMany([made[0]!.id, made[3]!.id, 'no-such-id', 'nul\0']);
    expect(names(found).sort()).to.deep.equal(['other', 'page-c']);
    expect(await accounts.findMany([])).to.deep.equal([]);
  });
});
