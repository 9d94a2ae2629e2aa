// The import's decisions, row by row: what is bad, what is already there, and when two instances' users are one person.
import { expect } from 'chai';
import { checkRow } from '../../src/import/chillfi3-user.js';
import { NO_MAPPING, parseMapping } from '../../src/import/import-mapping.js';
import { countSteps, planImport, type ImportState, type KnownAccount } from '../../src/import/import-plan.js';
import { bcryptOf } from './chillfi3-database.js';

const HASH = bcryptOf('the first password');
const OTHER_HASH = bcryptOf('another password');
const EMPTY: ImportState = { accounts: [], links: [] };

/** An account as the plan sees it: an ordinary user with no set-password link pending, unless told otherwise. */
function known(id: string, username: string, passwordHash: string | null, extra: Partial<KnownAccount> = {}): KnownAccount {
  return { id, username, passwordHash, isAdmin: false, passwordLinkPending: false, ...extra };
}

describe('ChillFi3 rows', function () {
  it('takes a row as ChillFi3 stores it, is_admin as a TINYINT, "1" or true', function () {
    const row = { id: 7, username: 'alice', display_name: ' Alice ', password: HASH, bio: 'hi', profile_image_url: 'https://cdn.example/a.png', is_admin: 1 };
    expect(checkRow(row)).to.deep.equal({
      user: { localId: 7, username: 'alice', displayName: 'Alice', bio: 'hi', picture: 'https://cdn.example/a.png', passwordHash: HASH, role: 'admin' },
      notes: [],
    });
    const roleOf = (isAdmin: unknown) => {
      const checked = checkRow({ id: '3', username: 'bob', password: null, is_admin: isAdmin });
      return 'user' in checked ? checked.user.role : checked.bad.reason;
    };
    expect([1, '1', true, 0, '0', false, null, 'yes'].map(roleOf)).to.deep.equal(['admin', 'admin', 'admin', 'member', 'member', 'member', 'member', 'member']);
  });

  it('reports rows that cannot be imported with their id', function () {
    const reasonOf = (row: Record<string, unknown>) => {
      const checked = checkRow(row);
      return 'bad' in checked ? checked.bad : null;
    };
    expect(reasonOf({ id: 0, username: 'x', password: null })?.reason).to.match(/^id is not a whole number/);
    expect(reasonOf({ id: 'x1', username: 'x', password: null })).to.deep.include({ id: 'x1' });
    expect(reasonOf({ id: 4, username: ' padded', password: null })).to.deep.include({ id: 4 });
    expect(reasonOf({ id: 5, username: 'plain', password: 'hunter2' })?.reason).to.match(/not a bcrypt hash/);
    expect(reasonOf({ id: 6, username: 'md5', password: '$1$abc$0123456789012345678901' })?.reason).to.match(/not a bcrypt hash/);
    expect(reasonOf({ id: 7, username: 'argon', password: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA' })?.reason).to.match(/not a bcrypt hash/);
  });

  it('drops fields the auth server cannot keep, with a note, and makes picture paths absolute with a base', function () {
    const row = { id: 1, username: 'carol', password: null, bio: 'x'.repeat(5000), profile_image_url: '/uploads/profile/1.jpg' };
    const without = checkRow(row);
    expect(without).to.have.nested.property('user.picture', null);
    expect(without).to.have.nested.property('user.bio', null);
    expect((without as { notes: string[] }).notes).to.have.length(2);
    expect(checkRow(row, { pictureBase: 'https://music.example' })).to.have.nested.property('user.picture', 'https://music.example/uploads/profile/1.jpg');
    expect(checkRow({ ...row, profile_image_url: 'javascript:alert(1)' }, { pictureBase: 'https://music.example' })).to.have.nested.property('user.picture', null);
  });
  it('keeps a username outside the rules for new ones, with a note (a warning on its line), and refuses one no store can hold', function () {
    const kept = checkRow({ id: 8, username: 'john doe <b>', password: null });
    expect(kept).to.have.nested.property('user.username', 'john doe <b>');
    expect((kept as { notes: string[] }).notes).to.deep.equal([
      'username kept as it is, though new usernames must be 1 to 50 letters, digits and . _ - @, starting with a letter or a digit',
    ]);
    expect((checkRow({ id: 9, username: 'E\u0301mile', password: null }) as { notes: string[] }).notes, 'NFD letters are letters').to.deep.equal([]);
    expect(checkRow({ id: 10, username: '\uFDFA'.repeat(3), password: null })).to.deep.equal({
      bad: { id: 10, reason: 'username must be at most 50 characters once ligatures and other compatibility forms are written out' },
    });
  });
});

describe('import plan', function () {
  const alice = known('acc-alice', 'Alice', HASH);

  it('creates new users, and reports repeated ids and usernames as bad rows without stopping', function () {
    const steps = planImport(
      [
        { id: 1, username: 'alice', password: HASH },
        { id: 2, username: 'bob', password: null },
        { id: 2, username: 'bob2', password: null },
        { id: 3, username: 'ALICE', password: null },
        { id: 4, username: 'dave', password: 'nope' },
        { id: 5, username: 'erin', password: OTHER_HASH },
      ],
      EMPTY,
      { mapping: NO_MAPPING },
    );
    expect(steps.map((step) => step.kind)).to.deep.equal(['create', 'create', 'bad', 'bad', 'bad', 'create']);
    expect(steps[2]).to.deep.equal({ kind: 'bad', bad: { id: 2, reason: 'id is repeated in the table' } });
    expect(steps[3]).to.deep.equal({ kind: 'bad', bad: { id: 3, reason: 'username "ALICE" is repeated in the table' } });
  });

  it('skips rows already imported into the instance, and updates a changed role', function () {
    const state: ImportState = { accounts: [alice, known('acc-bob', 'bob', null)], links: [
      { accountId: 'acc-alice', role: 'member', localUserId: 1 },
      { accountId: 'acc-bob', role: 'member', localUserId: 2 },
    ] };
    const steps = planImport([{ id: 1, username: 'alice', password: HASH }, { id: 2, username: 'bob', password: null, is_admin: 1 }], state, { mapping: NO_MAPPING });
    expect(steps.map((step) => step.kind)).to.deep.equal(['skip', 'update']);
    expect(steps[1]).to.deep.include({ previousRole: 'member' });
  });

  it('never merges a username clash on its own', function () {
    const [step] = planImport([{ id: 9, username: 'alice', password: HASH }], { accounts: [alice], links: [] }, { mapping: NO_MAPPING });
    expect(step).to.deep.include({ kind: 'clash', account: alice });
  });

  it('with --match username, links only the very same hash string on both sides', function () {
    const accounts = [alice, known('acc-carl', 'carl', HASH), known('acc-carl2', 'carl2', OTHER_HASH)];
    const steps = planImport(
      [
        { id: 1, username: 'alice', password: HASH },
        { id: 3, username: 'carl', password: HASH },
        { id: 4, username: 'Carl2', password: HASH },
      ],
      { accounts, links: [] },
      { match: 'username', mapping: NO_MAPPING },
    );
    expect(steps.map((step) => [step.kind, 'reason' in step ? step.reason : null, 'setPassword' in step ? step.setPassword : null])).to.deep.equal([
      ['link', 'same password hash', false],
      ['link', 'same password hash', false],
      ['clash', 'account "carl2" has another password: confirm in a mapping file', null],
    ]);
  });

  it('with --match username, gives no row the password-less account of its username, nor a password-less row an account', function () {
    // Issue 16: a row's hash went to an account without a password (whoever holds the username on the other server
    // then signed in here), and a row without a password was linked to root.
    const accounts = [known('acc-bob', 'bob', null), known('acc-root', 'root', HASH), known('acc-zed', 'zed', null)];
    const steps = planImport(
      [
        { id: 2, username: 'bob', password: OTHER_HASH },
        { id: 16, username: 'root', password: null },
        { id: 17, username: 'zed', password: null },
      ],
      { accounts, links: [] },
      { match: 'username', mapping: NO_MAPPING },
    );
    expect(steps.map((step) => [step.kind, 'reason' in step ? step.reason : null])).to.deep.equal([
      ['clash', 'account "bob" has no password, so nothing shows the row\'s user owns it: confirm in a mapping file'],
      ['clash', 'the row has no password, so nothing shows its user owns account "root": confirm in a mapping file'],
      ['clash', 'account "zed" has no password, so nothing shows the row\'s user owns it: confirm in a mapping file'],
    ]);
  });

  it('with --match username, links no server admin and no account with a set-password link pending, even by the same hash', function () {
    const accounts = [
      known('acc-root', 'root', HASH, { isAdmin: true }),
      known('acc-ada', 'ada', null, { isAdmin: true, passwordLinkPending: true }),
      known('acc-lin', 'lin', HASH, { passwordLinkPending: true }),
    ];
    const rows = [
      { id: 1, username: 'root', password: HASH },
      { id: 2, username: 'ada', password: HASH },
      { id: 3, username: 'lin', password: HASH },
    ];
    const matched = planImport(rows, { accounts, links: [] }, { match: 'username', mapping: NO_MAPPING });
    expect(matched.map((step) => [step.kind, 'reason' in step ? step.reason : null])).to.deep.equal([
      ['clash', 'account "root" is a server admin: confirm in a mapping file'],
      ['clash', 'account "ada" is a server admin: confirm in a mapping file'],
      ['clash', 'account "lin" has a set-password link pending: confirm in a mapping file'],
    ]);
    const mapped = planImport(rows, { accounts, links: [] }, { match: 'username', mapping: parseMapping({ root: 'root', ada: 'ada', lin: 'lin' }) });
    expect(mapped.map((step) => [step.kind, 'reason' in step ? step.reason : null, 'setPassword' in step ? step.setPassword : null])).to.deep.equal([
      ['link', 'mapping', false],
      ['link', 'mapping', true],
      ['link', 'mapping', false],
    ]);
  });

  it('matches usernames, in the table, the accounts and the mapping file, by their keys: case and look-alike forms aside', function () {
    const emile = known('acc-emile', '\u00e9mile', HASH);
    const steps = planImport(
      [
        { id: 1, username: 'E\u0301MILE', password: HASH },
        { id: 2, username: '\uff41lice', password: null },
        { id: 3, username: 'alice', password: null },
        { id: 4, username: 'ｄan', password: null },
      ],
      { accounts: [emile], links: [] },
      { match: 'username', mapping: parseMapping({ 'ＤＡＮ': { create: 'dan' } }) },
    );
    expect(steps[0]).to.deep.include({ kind: 'link', reason: 'same password hash', account: emile });
    expect(steps[1]).to.have.property('kind', 'create');
    expect(steps[2]).to.deep.equal({ kind: 'bad', bad: { id: 3, reason: 'username "alice" is repeated in the table' } });
    expect(steps[3]).to.have.nested.property('user.username', 'dan');
  });

  it('follows the mapping file: link to the account it names, or create under the username it gives', function () {
    const mapping = parseMapping({ 1: 'acc-alice', bob: { create: 'bob-from-b' }, carl: 'nobody', 4: 'alice' });
    const steps = planImport(
      [
        { id: 1, username: 'alice', password: OTHER_HASH },
        { id: 2, username: 'BOB', password: null },
        { id: 3, username: 'carl', password: null },
        { id: 4, username: 'dan', password: null },
      ],
      { accounts: [alice, known('acc-bob', 'bob', HASH)], links: [] },
      { mapping },
    );
    expect(steps[0]).to.deep.include({ kind: 'link', reason: 'mapping', account: alice });
    expect(steps[1]).to.have.property('kind', 'create');
    expect(steps[1]).to.have.nested.property('user.username', 'bob-from-b');
    expect(steps[2]).to.deep.equal({ kind: 'bad', bad: { id: 3, reason: 'the mapping file names no existing account "nobody"' } });
    expect(steps[3]).to.deep.include({ kind: 'clash', reason: 'account "Alice" is already linked to this instance' });
    const outside = planImport([{ id: 5, username: 'erin', password: null }], EMPTY, { mapping: parseMapping({ erin: { create: '<erin>' } }) });
    expect(outside[0]).to.deep.equal({
      kind: 'bad',
      bad: { id: 5, reason: "the mapping file's username: username may only hold letters, digits and . _ - @, and must start with a letter or a digit" },
    });
    expect(() => parseMapping({ bob: 3 })).to.throw(/mapping file must be/);
    expect(() => parseMapping({ bob: 'x', BOB: 'y' })).to.throw(/names "BOB" twice/);
  });

  it('counts the steps of each kind', function () {
    const steps = planImport([{ id: 1, username: 'a', password: null }, { id: 1, username: 'b', password: null }], EMPTY, { mapping: NO_MAPPING });
    expect(countSteps(steps)).to.deep.equal({ create: 1, link: 0, update: 0, skip: 0, clash: 0, bad: 1 });
  });
});
