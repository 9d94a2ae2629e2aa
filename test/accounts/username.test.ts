// The username rules on their own: the key two names are the same by, and which new names are accepted.
import { expect } from 'chai';
import { checkImportedUsername, checkNewUsername, newUsernameProblem, usernameKey } from '../../src/accounts/username.js';

describe('usernames', function () {
  it('are the same one by their key: NFKC, lower case, NFKC', function () {
    expect(usernameKey('Alice')).to.equal('alice');
    expect(usernameKey('\uff41lice'), 'full-width a').to.equal('alice');
    expect(usernameKey('e\u0301mile'), 'NFD').to.equal(usernameKey('\u00e9mile'));
    expect(usernameKey('\ufb01ona'), 'the fi ligature').to.equal('fiona');
    expect(usernameKey('H\u0331'), 'lower-casing makes what NFKC composes').to.equal('\u1e96');
    expect(usernameKey('stra\u00dfe'), 'ß is no look-alike of ss').to.not.equal(usernameKey('strasse'));
  });

  it('have keys that are their own keys, over every code point', function () {
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const key = usernameKey(String.fromCodePoint(code));
      if (usernameKey(key) !== key) expect.fail(`U+${code.toString(16)}`);
    }
  });

  it('are new only as letters, digits and . _ - @, starting with a letter or a digit, kept in NFC', function () {
    for (const good of ['alice', 'Bob.Smith', 'a_b-c@d', '7even', 'Zoë', 'e\u0301mile', 'अमित', '李小龍', 'Ａlice']) expect(newUsernameProblem(good), good).to.equal(null);
    expect(checkNewUsername('e\u0301mile')).to.equal('\u00e9mile');
    for (const bad of ['<b>', 'a b', '-rf', '_x', 'a\u0000', 'a\u202e', 'a\u200c', '\u3164x', 'a/b', "o'neil", 'a"b', 'x\n', '\u0301a']) {
      expect(newUsernameProblem(bad), JSON.stringify(bad)).to.equal('may only hold letters, digits and . _ - @, and must start with a letter or a digit');
    }
    expect(newUsernameProblem('')).to.equal('must be 1 to 50 characters');
    expect(newUsernameProblem('x'.repeat(51))).to.equal('must be 1 to 50 characters');
    expect(newUsernameProblem('e\u0301'.repeat(50)), 'counted once composed').to.equal(null);
    expect(newUsernameProblem('\ufdfa'.repeat(3))).to.match(/once ligatures and other compatibility forms are written out$/);
    expect(() => checkNewUsername('<script>alert(1)</script>')).to.throw(/^username may only hold/);
  });

  it('are kept when imported if printable, without spaces at the ends', function () {
    expect(checkImportedUsername('Old Name (B)')).to.equal('Old Name (B)');
    expect(checkImportedUsername('e\u0301mile'), 'as it came').to.equal('e\u0301mile');
    expect(() => checkImportedUsername(' padded')).to.throw(/printable characters/);
    expect(() => checkImportedUsername('a\u0000b')).to.throw(/printable characters/);
  });
});
