// Checking passkey answers (src/accounts/passkey-ceremonies.ts) against crafted assertions from a software
// authenticator, on every store: a good one signs in once; a counter that does not move forward is refused as a clone,
// but only when the signature is good; another origin or rpID, no user verification, another binding's or account's
// challenge, a replay and rubbish are refused without an exception. Also: passkeys go with their account, and the
// second-factor reset removes them.
import { expect } from 'chai';
import type { Account } from '../../src/accounts/account-entity.js';
import type { PasskeyCeremonies } from '../../src/accounts/passkey-ceremonies.js';
import type { Passkey } from '../../src/accounts/passkey-entity.js';
import { addAccount } from '../support/fixtures.js';
import { SoftwareAuthenticator } from '../support/software-authenticator.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

for (const backend of BACKENDS) {
  describe(`passkey answers checked (${backend})`, function () {
    this.timeout(30_000);
    let server: TestServer;
    let ceremonies: PasskeyCeremonies;
    let account: Account;
    let binding = 0;

    before(async function () {
      server = await startTestServer(backend, {}, { hostname: 'localhost' });
      ceremonies = server.services.passkeyCeremonies as PasskeyCeremonies;
      account = await addAccount(server, 'kim');
    });
    after(async function () {
      await server?.close();
    });

    async function register(authenticator: SoftwareAuthenticator, counter = 0, owner = account): Promise<Passkey> {
      return server.services.passkeys.add({
        accountId: owner.id,
        credentialId: authenticator.credentialId,
        publicKey: authenticator.publicKey,
        counter,
        transports: ['internal'],
        backedUp: false,
        name: 'Test key',
      });
    }

    /** A fresh challenge under a binding of its own, and the assertion options that answer it right. */
    async function challenge(forAccount?: Account) {
      const key = `test:${binding++}`;
      const options = await ceremonies.authenticationOptions(key, forAccount);
      const { id: rpId, origin } = ceremonies.relyingParty;
      return { key, right: { challenge: options.challenge, origin, rpId } };
    }

    it('takes a good answer once: the counter and last use are recorded, the same answer again is refused', async function () {
      const authenticator = new SoftwareAuthenticator();
      const passkey = await register(authenticator, 4);
      const { key, right } = await challenge();
      const answer = authenticator.assertion({ ...right, counter: 5, userHandle: Buffer.from(account.id).toString('base64url') });
      const check = await ceremonies.authenticate(key, answer);
      expect(check.ok).to.equal(true);
      const [stored] = (await server.services.passkeys.listOf(account.id)).filter((candidate) => candidate.id === passkey.id);
      expect(stored?.counter).to.equal(5);
      expect(stored?.lastUsedAt).to.be.an.instanceOf(Date);
      expect(await ceremonies.authenticate(key, answer)).to.deep.include({ ok: false, reason: 'expired_challenge' });
    });

    it('refuses a counter that does not move forward (a cloned authenticator), and leaves the stored counter', async function () {
      const authenticator = new SoftwareAuthenticator();
      const passkey = await register(authenticator, 10);
      for (const counter of [3, 10]) {
        const { key, right } = await challenge();
        const check = await ceremonies.authenticate(key, authenticator.assertion({ ...right, counter }));
        expect(check).to.deep.include({ ok: false, reason: 'counter_regressed' });
      }
      const [stored] = (await server.services.passkeys.listOf(account.id)).filter((candidate) => candidate.id === passkey.id);
      expect(stored?.counter).to.equal(10);
    });

    it('accepts an authenticator that keeps no counter (always 0)', async function () {
      const authenticator = new SoftwareAuthenticator();
      await register(authenticator, 0);
      for (let round = 0; round < 2; round++) {
        const { key, right } = await challenge();
        expect((await ceremonies.authenticate(key, authenticator.assertion({ ...right, counter: 0 }))).ok).to.equal(true);
      }
    });

    it('never calls an answer with a bad signature a clone, however low its counter', async function () {
      const owner = new SoftwareAuthenticator();
      const forger = new SoftwareAuthenticator();
      await register(owner, 50);
      const { key, right } = await challenge();
      // The forger's key signs for the owner's credential id.
      const forged = JSON.parse(forger.assertion({ ...right, counter: 1 })) as { id: string; rawId: string };
      forged.id = forged.rawId = owner.credentialId;
      expect(await ceremonies.authenticate(key, JSON.stringify(forged))).to.deep.include({ ok: false, reason: 'invalid_signature' });
    });

    it('refuses another origin, another rpID, no user verification, and another binding’s challenge', async function () {
      const authenticator = new SoftwareAuthenticator();
      await register(authenticator, 0);
      let counter = 1;
      const wrongs = [
        { origin: 'https://evil.example' },
        { rpId: 'evil.example' },
        { userVerified: false },
        { challenge: (await challenge()).right.challenge },
      ];
      for (const wrong of wrongs) {
        const { key, right } = await challenge();
        const check = await ceremonies.authenticate(key, authenticator.assertion({ ...right, counter: counter++, ...wrong }));
        expect(check, JSON.stringify(wrong)).to.deep.include({ ok: false, reason: 'invalid_signature' });
      }
    });

    it('refuses a passkey of another account where the challenge names one, and a user handle that is not its account’s', async function () {
      const other = await addAccount(server, `other-${backend.replace('+', '-')}`);
      const authenticator = new SoftwareAuthenticator();
      await register(authenticator, 0, other);
      const forKim = await challenge(account);
      expect(await ceremonies.authenticate(forKim.key, authenticator.assertion({ ...forKim.right, counter: 1 }))).to.deep.include({
        ok: false,
        reason: 'unknown_passkey',
      });
      const { key, right } = await challenge();
      const handle = Buffer.from(account.id).toString('base64url');
      expect(await ceremonies.authenticate(key, authenticator.assertion({ ...right, counter: 2, userHandle: handle }))).to.deep.include({
        ok: false,
        reason: 'unknown_passkey',
      });
    });

    it('refuses rubbish without an exception: not JSON, the wrong shape, an unknown or unstorable credential id', async function () {
      for (const answer of ['', 'null', '[]', '{"id":', '{"id":"x"}', JSON.stringify({ id: 'a\0b', rawId: 'a', type: 'public-key', response: { clientDataJSON: '' } })]) {
        const { key } = await challenge();
        const check = await ceremonies.authenticate(key, answer);
        expect(check.ok, answer).to.equal(false);
        expect(['malformed', 'unknown_passkey'], answer).to.include((check as { reason: string }).reason);
      }
    });

    it('lets one of 20 answers to one challenge through when they come at once', async function () {
      const authenticator = new SoftwareAuthenticator();
      await register(authenticator, 0);
      const { key, right } = await challenge();
      const answer = authenticator.assertion({ ...right, counter: 1 });
      const checks = await Promise.all(Array.from({ length: 20 }, () => ceremonies.authenticate(key, answer)));
      expect(checks.filter((check) => check.ok)).to.have.length(1);
    });

    it('lets in the account a passkey proved as a right password would: not while it is disabled or locked out', async function () {
      const { accounts, authenticator } = server.services;
      const person = await addAccount(server, `gate-${backend.replace('+', '-')}`);
      expect(await authenticator.signInVerified(person.id)).to.deep.include({ ok: true });
      await accounts.setDisabled(person.id, true);
      expect(await authenticator.signInVerified(person.id)).to.deep.include({ ok: false, reason: 'disabled' });
      await accounts.setDisabled(person.id, false);
      // Locked out by wrong passwords (the attempts the password check counts): the passkey waits like the password.
      for (let attempt = 0; attempt < 2; attempt++) await accounts.reserveLoginAttempt(person.id, 1, 300);
      expect(await authenticator.signInVerified(person.id)).to.deep.include({ ok: false, reason: 'locked' });
      expect(await authenticator.signInVerified(person.id, new Date(Date.now() + 301_000))).to.deep.include({ ok: true });
      expect(await authenticator.signInVerified('no-such-account')).to.deep.include({ ok: false, reason: 'invalid_credentials' });
    });

    it('lists passkeys among the factors an admin sees, removes them in the reset, and with their account', async function () {
      const person = await addAccount(server, `reset-${backend.replace('+', '-')}`);
      await register(new SoftwareAuthenticator(), 0, person);
      const { secondFactors } = server.services;
      const summary = await secondFactors.summary(person.id);
      expect(summary.factors.map(({ kind, name }) => ({ kind, name }))).to.deep.equal([{ kind: 'passkey', name: 'Test key' }]);
      expect(await secondFactors.hasFactor(person)).to.equal(true);
      // An admin's reset (console, CLI `users mfa reset`, admin API): MfaOperations.reset.
      const { removed } = await server.services.mfaOperations.reset(person.id, { accountId: null, via: 'cli' });
      expect(removed).to.equal(1);
      expect(await server.services.passkeys.listOf(person.id)).to.deep.equal([]);

      await register(new SoftwareAuthenticator(), 0, person);
      await server.services.accounts.delete(person.id);
      expect(await server.services.passkeys.listOf(person.id)).to.deep.equal([]);
    });
  });
}
