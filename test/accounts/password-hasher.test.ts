import { expect } from 'chai';
import bcrypt from 'bcryptjs';
import { PasswordHasher } from '../../src/accounts/password-hasher.js';

describe('PasswordHasher', function () {
  const hasher = new PasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 });

  it('hashes with argon2id and verifies', async function () {
    const hash = await hasher.hash('secret password');
    expect(hash).to.match(/^\$argon2id\$v=19\$m=8192,p=1,t=1\$/);
    expect(await hasher.verify(hash, 'secret password')).to.deep.equal({ valid: true });
    expect(await hasher.verify(hash, 'other')).to.deep.equal({ valid: false });
  });

  it('verifies ChillFi3 bcrypt hashes ($2a, $2b, $2y) and hands back an argon2id hash to store', async function () {
    const b = await bcrypt.hash('legacy', 4);
    for (const hash of [b, b.replace('$2b$', '$2a$'), b.replace('$2b$', '$2y$')]) {
      const check = await hasher.verify(hash, 'legacy');
      expect(check.valid, hash).to.equal(true);
      expect(check.rehash).to.match(/^\$argon2id\$/);
    }
    expect((await hasher.verify(b, 'wrong')).valid).to.equal(false);
  });

  it('asks for a rehash when the stored argon2 cost is below the configured one', async function () {
    const weak = await new PasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }).hash('p');
    const check = await new PasswordHasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 }).verify(weak, 'p');
    expect(check.valid).to.equal(true);
    expect(check.rehash).to.match(/m=19456,p=1,t=2/);
  });

  it('treats an unknown hash format as a wrong password', async function () {
    expect((await hasher.verify('plaintext', 'plaintext')).valid).to.equal(false);
  });
});
