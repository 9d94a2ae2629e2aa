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

  it('opens values sealed under a previous master secret, seals under the current one, and reseals onto it', async function () {
    const previous = new SecretBox('p'.repeat(40));
    const rotating = new SecretBox('c'.repeat(40), ['p'.repeat(40)]);
    const old = await previous.seal('the client secret', 'client-secret');
    expect(await rotating.open(old, 'client-secret')).to.equal('the client secret');
    const resealed = await rotating.reseal(old, 'client-secret');
    expect(resealed).to.not.equal(old);
    expect(await rotating.reseal(resealed, 'client-secret'), 'already current: left as it is').to.equal(resealed);
    expect(await new SecretBox('c'.repeat(40)).open(resealed, 'client-secret')).to.equal('the client secret');
    await previous.open(await rotating.seal('new', 'client-secret'), 'client-secret').then(
      () => expect.fail('sealed under the previous secret'),
      () => undefined,
    );
  });
});
