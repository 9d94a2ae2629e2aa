import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { Conflict } from '../../src/errors.js';
import { openStores, type Stores } from '../../src/stores.js';
import { scratchPostgres, scratchSqlite, type ScratchDatabase } from '../support/databases.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

const NFC_EMILE = '\u00e9mile';
const NFD_EMILE = 'e\u0301mile';

/** What each of `attempts` simultaneous creations came to: the username it created, or its error's class and message. */
async function createAtOnce(stores: Stores, usernames: string[]): Promise<{ created: string[]; refused: string[] }> {
  const outcomes = await Promise.allSettled(usernames.map((username) => stores.accounts.create({ username, passwordHash: null })));
  return {
    created: outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.username] : [])),
    refused: outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [`${(outcome.reason as Error).constructor.name}: ${(outcome.reason as Error).message}`] : [])),
  };
}

for (const [backend, scratch] of [['SQLite', scratchSqlite], ['PostgreSQL', scratchPostgres]] as const) {
  describe(`AccountStore (${backend})`, function () {
    let database: ScratchDatabase;
    let stores: Stores;
    before(async function () {
      database = await scratch();
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
      expect(names(await accounts.list({ search: 'ＰＡＧＥ-ａ' })), 'a look-alike of the text finds it').to.deep.equal(['page-a']);
      expect((await accounts.list()).length, 'the default page holds them all').to.equal((await accounts.list({ limit: 500 })).length);
      const found = await accounts.findMany([made[0]!.id, made[3]!.id, 'no-such-id', 'nul\0']);
      expect(names(found).sort()).to.deep.equal(['other', 'page-c']);
      expect(await accounts.findMany([])).to.deep.equal([]);
    });

    it('pages by username key after the last one shown, and searches the start of username, display name and email', async function () {
      const { accounts } = stores;
      for (const [username, displayName, email] of [
        ['kp-zoe', 'Zoë Kpmartin', 'kpzm@example.org'],
        ['kp-martin', 'Martin Roux', 'kproux@example.org'],
        ['KP-Yves', null, 'yves.kpmartin@example.org'],
        ['kp_1', 'Someone', null],
        ['kp.1', 'Else', null],
        ['kpa1', null, null],
      ] as const) {
        await accounts.create({ username, passwordHash: null, displayName, email });
      }
      const names = (found: { username: string }[]) => found.map((account) => account.username);
      const pages: string[][] = [];
      for (let after: string | undefined, page = await accounts.list({ search: 'kp', limit: 4 }); page.length > 0; page = await accounts.list({ search: 'kp', limit: 4, after })) {
        pages.push(names(page));
        after = page.at(-1)?.usernameKey;
      }
      expect(pages, 'in byte order of the keys, every account once').to.deep.equal([['kp-martin', 'KP-Yves', 'kp-zoe', 'kp.1'], ['kp_1', 'kpa1']]);
      expect(names(await accounts.list({ search: 'Kpmar' })), 'display name, not the middle of an email').to.deep.equal([]);
      expect(names(await accounts.list({ search: 'zoË' })), 'display name, any case').to.deep.equal(['kp-zoe']);
      expect(names(await accounts.list({ search: 'KPROUX@' })), 'email, any case').to.deep.equal(['kp-martin']);
      expect(names(await accounts.list({ search: 'martin' })), 'the start of a display name').to.deep.equal(['kp-martin']);
      expect(names(await accounts.list({ search: 'p-m' })), 'the middle of a name is not searched').to.deep.equal([]);
      expect(names(await accounts.list({ search: 'kp_' })), 'wildcards taken literally').to.deep.equal(['kp_1']);
      expect(names(await accounts.list({ search: 'kp', after: 'kp.1' }))).to.deep.equal(['kp_1', 'kpa1']);
      for (const limit of [0, 501, 1.5]) {
        await accounts.list({ limit }).then(
          () => expect.fail(`limit ${limit} was accepted`),
          (error: unknown) => expect(error).to.have.property('status', 400),
        );
      }
    });

    it('creates exactly one of 20 simultaneous alice, ａlice (full width), ALICE, Ａｌｉｃｅ; the rest are told it is taken (409)', async function () {
      const { created, refused } = await createAtOnce(stores, Array.from({ length: 20 }, (_, n) => ['alice', '\uff41lice', 'ALICE', '\uff21\uff4c\uff49\uff43\uff45'][n % 4] as string));
      expect(created).to.have.length(1);
      expect(refused).to.have.length(19);
      for (const refusal of refused) expect(refusal).to.match(/^Conflict: username ".+" is taken \(usernames that differ only in case or in look-alike forms are one\)$/);
      expect((await stores.accounts.list({ search: 'ALI' })).map((account) => account.username)).to.deep.equal(created);
    });

    it('creates exactly one of 20 simultaneous émile, composed (NFC) and decomposed (NFD), and keeps it composed', async function () {
      const { created, refused } = await createAtOnce(stores, Array.from({ length: 20 }, (_, n) => (n % 2 === 0 ? NFD_EMILE : NFC_EMILE)));
      expect(created).to.deep.equal([NFC_EMILE]);
      expect(refused).to.have.length(19);
      await stores.accounts.create({ username: 'E\u0301MILE', passwordHash: null }).then(
        () => expect.fail('created a look-alike'),
        (error: unknown) => expect(error).to.be.instanceOf(Conflict),
      );
    });

    it('finds an account by any spelling of its username that has the same key, for sign-in too', async function () {
      const { accounts } = stores;
      const account = await accounts.create({ username: 'Zoë.K', passwordHash: 'hash' });
      for (const spelling of ['zoë.k', 'ZOE\u0308.K', '\uff3a\uff4f\u00eb\uff0e\uff2b']) {
        expect((await accounts.findByUsername(spelling))?.id, spelling).to.equal(account.id);
        expect((await accounts.findForLogin(spelling))?.passwordHash, spelling).to.equal('hash');
      }
      expect(await accounts.findByUsername('zoe.k'), 'an accent is no case').to.equal(null);
    });

    it('refuses new usernames outside the rule, naming it, and keeps imported ones as they came', async function () {
      const { accounts } = stores;
      for (const username of ['<script>alert(1)</script>', 'two words', '-rf', '.hidden', 'a\u202eb', 'a\u200db', '\u3164', '', 'x'.repeat(51), 'tab\t']) {
        await accounts.create({ username, passwordHash: null }).then(
          () => expect.fail(`created ${JSON.stringify(username)}`),
          (error: unknown) => expect((error as Error).message, JSON.stringify(username)).to.match(/^username (may only hold letters, digits and \. _ - @, and must start with a letter or a digit|must be 1 to 50 characters)$/),
        );
      }
      const imported = await accounts.createImported({ username: 'Old Name (B)', passwordHash: null });
      expect(imported.username).to.equal('Old Name (B)');
      expect((await accounts.findForLogin('old name (b)'))?.id).to.equal(imported.id);
      await accounts.createImported({ username: NFD_EMILE.toUpperCase(), passwordHash: null }).then(
        () => expect.fail('imported a look-alike of émile'),
        (error: unknown) => expect(error).to.be.instanceOf(Conflict),
      );
    });
  });
}
