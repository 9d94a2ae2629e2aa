import { expect } from 'chai';
import { SecretBox } from '../../src/security/secret-box.js';

describe('SecretBox', function () {
  const box = new SecretBox('k'.repeat(40));

  it('seals to something that is not the secret, and opens it again', async function () {
    const sealed = await box.seal('the client secret', 'client-secret');
    expect(sealed).to.not.contain('the client secret');
    expect(await box.open(sealed, 'client-secret')).to.equal('the client secret');
  });

  it('refuses a value sealed for another purpose or under another key', async function () {
    const sealed = await box.seal('s', 'client-secret');
    await box.open(sealed, 'signing-key').then(
      () => expect.fail('opened for the wrong purpose'),
      (error: Error) => expect(error.message).to.contain('client-secret'),
    );
    await new SecretBox('j'.repeat(40)).open(sealed, 'client-secret').then(
      () => expect.fail('opened under another key'),
      () => undefined,
    );
  });
});
