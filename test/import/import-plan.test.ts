// The import's decisions, row by row: what is bad, what is already there, and when two instances' users are one person.
import { expect } from 'chai';
import { checkRow } from '../../src/import/chillfi3-user.js';
import { NO_MAPPING, parseMapping } from '../../src/import/import-mapping.js';
import { countSteps, planImport, type ImportState } from '../../src/import/import-plan.js';
import { bcryptOf } from './chillfi3-database.js';

const HASH = bcryptOf('the first password');
const OTHER_HASH = bcryptOf('another password');
const EMPTY: ImportState = { accounts: [], links: [] };

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
});

describe('import plan', function () {
  const alice = { id: 'acc-alice', username: 'Alice', passwordHash: HASH };

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
    const state: ImportState = { accounts: [alice, { id: 'acc-bob', username: 'bob', passwordHash: null }], links: [
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

  it('with --match username, links only the same hash string or a side without password', function () {
    const accounts = [alice, { id: 'acc-bob', username: 'bob', passwordHash: null }, { id: 'acc-carl', username: 'carl', passwordHash: HASH }];
    const steps = planImport(
      [
        { id: 1, username: 'alice', password: HASH },
        { id: 2, username: 'bob', password: OTHER_HASH },
        { id: 3, username: 'carl', password: null },
        { id: 4, username: 'Carl2', password: HASH },
      ],
      { accounts: [...accounts, { id: 'acc-carl2', username: 'carl2', passwordHash: OTHER_HASH }], links: [] },
      { match: 'username', mapping: NO_MAPPING },
    );
    expect(steps.map((step) => [step.kind, 'reason' in step ? step.reason : null, 'setPassword' in step ? step.setPassword : null])).to.deep.equal([
      ['link', 'same password hash', false],
      ['link', 'no password on one side', true],
      ['link', 'no password on one side', false],
      ['clash', 'account "carl2" has another password: confirm in a mapping file', null],
    ]);
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
      { accounts: [alice, { id: 'acc-bob', username: 'bob', passwordHash: HASH }], links: [] },
      { mapping },
    );
    expect(steps[0]).to.deep.include({ kind: 'link', reason: 'mapping', account: alice });
    expect(steps[1]).to.have.property('kind', 'create');
    expect(steps[1]).to.have.nested.property('user.username', 'bob-from-b');
    expect(steps[2]).to.deep.equal({ kind: 'bad', bad: { id: 3, reason: 'the mapping file names no existing account "nobody"' } });
    expect(steps[3]).to.deep.include({ kind: 'clash', reason: 'account "Alice" is already linked to this instance' });
    expect(() => parseMapping({ bob: 3 })).to.throw(/mapping file must be/);
    expect(() => parseMapping({ bob: 'x', BOB: 'y' })).to.throw(/names "BOB" twice/);
  });

  it('counts the steps of each kind', function () {
    const steps = planImport([{ id: 1, username: 'a', password: null }, { id: 1, username: 'b', password: null }], EMPTY, { mapping: NO_MAPPING });
    expect(countSteps(steps)).to.deep.equal({ create: 1, link: 0, update: 0, skip: 0, clash: 0, bad: 1 });
  });
});
