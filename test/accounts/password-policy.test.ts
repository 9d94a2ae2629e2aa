import { expect } from 'chai';
import { MAX_PASSWORD_LENGTH, PasswordPolicy } from '../../src/accounts/password-policy.js';

describe('password policy', function () {
  const policy = new PasswordPolicy(8);

  it('accepts a password of the minimum length up to the maximum, counting characters, not bytes', function () {
    expect(policy.check('12345678', 'alice')).to.equal('12345678');
    expect(policy.check('ñ'.repeat(8), 'alice')).to.equal('ñ'.repeat(8));
    expect(policy.check('🎵'.repeat(MAX_PASSWORD_LENGTH), 'alice')).to.have.length(2 * MAX_PASSWORD_LENGTH);
  });

  it('refuses too short, too long, the username in any case, and NUL, saying which rule', function () {
    expect(() => policy.check('1234567', 'alice')).to.throw('at least 8 characters');
    expect(() => policy.check('🎵'.repeat(7), 'alice')).to.throw('at least 8 characters');
    expect(() => policy.check('x'.repeat(MAX_PASSWORD_LENGTH + 1), 'alice')).to.throw(`at most ${MAX_PASSWORD_LENGTH}`);
    expect(() => policy.check('LongUserName', 'longusername')).to.throw('not be the username');
    expect(() => policy.check('abc\0defgh', 'alice')).to.throw('NUL');
  });

  it('takes its minimum from the configuration', function () {
    expect(() => new PasswordPolicy(12).check('elevenchars', 'alice')).to.throw('at least 12 characters');
  });
});
