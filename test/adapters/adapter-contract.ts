/**
 * The one adapter suite every OidcStore must pass (the contract stated in adapters/index.ts): register it inside a
 * backend's describe with a way to open a store on that backend and one whose backend is unreachable.
 * Every test uses fresh random ids and accounts, so tests share one store and the backend needs no cleaning between
 * them. Expiry is checked for real, with one short wait covering every kind of record and index.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { OidcStore } from '../../adapters/index.js';
import { ProviderStoreUnavailable } from '../../src/provider/store-unavailable.js';

export interface AdapterContractSubject {
  /** A store on the backend under test. */
  open(): Promise<OidcStore>;
  /** A store whose backend connection is closed, so that every operation fails. */
  openBroken(): Promise<OidcStore>;
}

/** Models whose payloads carry a grantId and that revocation of the grant must remove. */
const grantLinkedModels = [
  'AccessToken',
  'RefreshToken',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'ClientCredentials',
];

export function adapterContract(subject: AdapterContractSubject): void {
  describe('adapter contract', () => {
    let store: OidcStore;
    const adapter = (model: string): Adapter => new store.Adapter(model);

    before(async () => {
      store = await subject.open();
    });

    after(async () => {
      await store.close();
    });

    describe('records', () => {
      it('finds an upserted payload as it was stored', async () => {
        const id = newId();
        const payload: AdapterPayload = {
          jti: id,
          kind: 'AccessToken',
          accountId: newId(),
          clientId: 'client-é',
          iat: 1_764_300_000,
          exp: 1_764_300_900,
          scope: 'openid profile',
          claims: { userinfo: { email: { essential: true } } },
          resource: [],
          extra: { nested: { list: [1, 'two', null] } },
        };
        await adapter('AccessToken').upsert(id, payload, 60);
        expect(await adapter('AccessToken').find(id)).to.deep.equal(payload);
      });

      it('finds nothing for an unknown id', async () => {
        expect(await adapter('AccessToken').find(newId())).to.equal(undefined);
      });

      it('keeps models apart: one id under two models is two records', async () => {
        const id = newId();
        await adapter('AccessToken').upsert(id, { jti: id, kind: 'AccessToken' }, 60);
        await adapter('RefreshToken').upsert(id, { jti: id, kind: 'RefreshToken' }, 60);
        await adapter('AccessToken').destroy(id);
        expect(await adapter('AccessToken').find(id)).to.equal(undefined);
        expect(await adapter('RefreshToken').find(id)).to.deep.equal({ jti: id, kind: 'RefreshToken' });
      });

      it('replaces the whole payload on re-upsert', async () => {
        const id = newId();
        await adapter('Interaction').upsert(id, { jti: id, returnTo: 'https://a.example', params: { a: 1 } }, 60);
        await adapter('Interaction').upsert(id, { jti: id, params: { b: 2 } }, 60);
        expect(await adapter('Interaction').find(id)).to.deep.equal({ jti: id, params: { b: 2 } });
      });

      it('keeps a record upserted without a lifetime', async () => {
        const id = newId();
        await adapter('Client').upsert(id, { client_id: id });
        expect(await adapter('Client').find(id)).to.deep.equal({ client_id: id });
        await adapter('Client').destroy(id);
      });

      it('treats a lifetime of zero or less as already expired', async () => {
        const id = newId();
        await adapter('AccessToken').upsert(id, { jti: id }, 60);
        await adapter('AccessToken').upsert(id, { jti: id }, 0);
        expect(await adapter('AccessToken').find(id)).to.equal(undefined);
      });

      it('destroys a record, and destroying a missing one is no error', async () => {
        const id = newId();
        await adapter('AuthorizationCode').upsert(id, { jti: id }, 60);
        await adapter('AuthorizationCode').destroy(id);
        expect(await adapter('AuthorizationCode').find(id)).to.equal(undefined);
        await adapter('AuthorizationCode').destroy(id);
      });
    });

    describe('consume', () => {
      it('sets consumed to the epoch seconds, visible on later reads', async () => {
        const id = newId();
        await adapter('PushedAuthorizationRequest').upsert(id, { jti: id, request: 'eyJ.x.y' }, 60);
        const before = epochSeconds();
        await adapter('PushedAuthorizationRequest').consume(id);
        const consumed = await adapter('PushedAuthorizationRequest').find(id);
        expect(consumed).to.include({ jti: id, request: 'eyJ.x.y' });
        expect(consumed?.consumed).to.be.a('number').within(before, epochSeconds());
      });

      it('keeps of a consumed refresh token only what the provider reads before its reuse check', async () => {
        const id = newId();
        const issued = refreshTokenPayload(id);
        await adapter('RefreshToken').upsert(id, issued, 60);
        await adapter('RefreshToken').consume(id);
        const { consumed, ...kept } = (await adapter('RefreshToken').find(id)) ?? {};
        expect(consumed).to.be.a('number');
        expect(kept).to.deep.equal(pick(issued, REFRESH_TOKEN_KEPT));
      });

      it('keeps of a consumed authorization code only what the provider reads before its reuse check', async () => {
        const id = newId();
        const issued = authorizationCodePayload(id);
        await adapter('AuthorizationCode').upsert(id, issued, 60);
        await adapter('AuthorizationCode').consume(id);
        const { consumed, ...kept } = (await adapter('AuthorizationCode').find(id)) ?? {};
        expect(consumed).to.be.a('number');
        expect(kept).to.deep.equal(pick(issued, AUTHORIZATION_CODE_KEPT));
      });

      it('refuses a missing record with invalid_grant and leaves it missing', async () => {
        const id = newId();
        expect(await rejection(adapter('RefreshToken').consume(id))).to.have.property('error', 'invalid_grant');
        expect(await adapter('RefreshToken').find(id)).to.equal(undefined);
      });

      it('lets one of 20 concurrent consumes win; the others get invalid_grant and the grant is revoked', async () => {
        const grantId = newId();
        await upsertGrant(grantId, newId());
        const ids = await upsertGrantLinked(grantId, newId());
        const codeId = ids.AuthorizationCode ?? '';

        const outcomes = await Promise.allSettled(concurrently(() => adapter('AuthorizationCode').consume(codeId)));

        expect(outcomes.filter(({ status }) => status === 'fulfilled'), 'winners').to.have.lengthOf(1);
        const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
        const errorCodes = refusals.map((reason) => (reason as { error?: unknown }).error);
        expect(errorCodes).to.deep.equal(Array(CONCURRENCY - 1).fill('invalid_grant'));
        expect(await adapter('Grant').find(grantId), 'Grant').to.equal(undefined);
        for (const model of grantLinkedModels) {
          expect(await adapter(model).find(ids[model] ?? ''), model).to.equal(undefined);
        }
      });

      it('refuses a second consume with invalid_grant, revoking the grant; the first stays visible', async () => {
        const grantId = newId();
        const [tokenId, otherTokenId] = [newId(), newId()];
        await upsertGrant(grantId, newId());
        await adapter('RefreshToken').upsert(tokenId, { jti: tokenId, grantId }, 60);
        await adapter('AccessToken').upsert(otherTokenId, { jti: otherTokenId, grantId }, 60);
        await adapter('RefreshToken').consume(tokenId);
        const consumed = (await adapter('RefreshToken').find(tokenId))?.consumed;

        expect(await rejection(adapter('RefreshToken').consume(tokenId))).to.have.property('error', 'invalid_grant');

        expect(consumed).to.be.a('number');
        expect(await adapter('Grant').find(grantId), 'Grant').to.equal(undefined);
        expect(await adapter('AccessToken').find(otherTokenId), 'token of the grant').to.equal(undefined);
      });

      it('refuses a second consume of a pushed authorization request with invalid_request_uri', async () => {
        const id = newId();
        await adapter('PushedAuthorizationRequest').upsert(id, { jti: id }, 60);
        await adapter('PushedAuthorizationRequest').consume(id);
        const refusal = await rejection(adapter('PushedAuthorizationRequest').consume(id));
        expect(refusal).to.have.property('error', 'invalid_request_uri');
      });

      it('is replaced by a re-upserted payload', async () => {
        const id = newId();
        await adapter('RefreshToken').upsert(id, { jti: id }, 60);
        await adapter('RefreshToken').consume(id);
        await adapter('RefreshToken').upsert(id, { jti: id, consumed: 1_764_300_000 }, 60);
        expect(await adapter('RefreshToken').find(id)).to.deep.equal({ jti: id, consumed: 1_764_300_000 });
        await adapter('RefreshToken').upsert(id, { jti: id }, 60);
        expect(await adapter('RefreshToken').find(id)).to.deep.equal({ jti: id });
      });
    });

    describe('replay detection', () => {
      it('answers "not seen" to exactly one of 20 concurrent finds of one id, "seen" to the others', async () => {
        const id = newId();
        const answers = await Promise.all(concurrently(() => adapter('ReplayDetection').find(id)));
        expect(answers.filter((answer) => answer === undefined), 'not seen').to.have.lengthOf(1);
        for (const answer of answers.filter((found) => found !== undefined)) {
          expect(answer).to.include({ jti: id, kind: 'ReplayDetection' });
          expect(answer?.exp).to.be.above(epochSeconds());
        }
      });

      it('answers "seen" to a later find, once the provider has saved the id with its lifetime', async () => {
        const id = newId();
        expect(await adapter('ReplayDetection').find(id)).to.equal(undefined);
        const saved = { jti: id, kind: 'ReplayDetection', iss: 'client', exp: epochSeconds() + 60 };
        await adapter('ReplayDetection').upsert(id, saved, 60);
        expect(await adapter('ReplayDetection').find(id)).to.include({ jti: id });
      });
    });

    describe('findByUid and findByUserCode', () => {
      it('finds a Session by its uid, following re-upserts and destroy', async () => {
        const id = newId();
        const [firstUid, secondUid] = [newId(), newId()];
        await adapter('Session').upsert(id, { jti: id, uid: firstUid }, 60);
        expect(await adapter('Session').findByUid(firstUid)).to.deep.equal({ jti: id, uid: firstUid });

        await adapter('Session').upsert(id, { jti: id, uid: secondUid }, 60);
        expect(await adapter('Session').findByUid(firstUid)).to.equal(undefined);
        expect(await adapter('Session').findByUid(secondUid)).to.deep.equal({ jti: id, uid: secondUid });

        await adapter('Session').destroy(id);
        expect(await adapter('Session').findByUid(secondUid)).to.equal(undefined);
      });

      it('finds a DeviceCode by its user code, following re-upserts and destroy', async () => {
        const id = newId();
        const [firstCode, secondCode] = [newId(), newId()];
        await adapter('DeviceCode').upsert(id, { jti: id, userCode: firstCode }, 60);
        expect(await adapter('DeviceCode').findByUserCode(firstCode)).to.deep.equal({ jti: id, userCode: firstCode });

        await adapter('DeviceCode').upsert(id, { jti: id, userCode: secondCode }, 60);
        expect(await adapter('DeviceCode').findByUserCode(firstCode)).to.equal(undefined);
        expect(await adapter('DeviceCode').findByUserCode(secondCode)).to.deep.equal({ jti: id, userCode: secondCode });

        await adapter('DeviceCode').destroy(id);
        expect(await adapter('DeviceCode').findByUserCode(secondCode)).to.equal(undefined);
      });

      it('finds nothing for an unknown uid or user code, nor under another model', async () => {
        const id = newId();
        const uid = newId();
        await adapter('Session').upsert(id, { jti: id, uid }, 60);
        expect(await adapter('Session').findByUid(newId())).to.equal(undefined);
        expect(await adapter('Interaction').findByUid(uid)).to.equal(undefined);
        expect(await adapter('DeviceCode').findByUserCode(newId())).to.equal(undefined);
      });
    });

    describe('revokeByGrantId', () => {
      it('removes every record of every model carrying the grant, from any model adapter', async () => {
        const grantId = newId();
        const userCode = newId();
        const ids = await upsertGrantLinked(grantId, userCode);

        await adapter('AccessToken').revokeByGrantId(grantId);

        for (const model of grantLinkedModels) {
          expect(await adapter(model).find(ids[model] ?? ''), model).to.equal(undefined);
        }
        expect(await adapter('DeviceCode').findByUserCode(userCode)).to.equal(undefined);
      });

      it('leaves the Grant itself, other grants and records without a grant', async () => {
        const [grantId, otherGrantId] = [newId(), newId()];
        await adapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId: newId() }, 60);
        await upsertGrantLinked(grantId, newId());
        const otherIds = await upsertGrantLinked(otherGrantId, newId());
        const loneId = newId();
        await adapter('AccessToken').upsert(loneId, { jti: loneId }, 60);

        await adapter('RefreshToken').revokeByGrantId(grantId);

        expect(await adapter('Grant').find(grantId)).to.include({ jti: grantId });
        for (const model of grantLinkedModels) {
          expect(await adapter(model).find(otherIds[model] ?? ''), model).to.include({ grantId: otherGrantId });
        }
        expect(await adapter('AccessToken').find(loneId)).to.deep.equal({ jti: loneId });
      });

      it('follows a record re-upserted under another grant', async () => {
        const [firstGrantId, secondGrantId] = [newId(), newId()];
        const id = newId();
        await adapter('AccessToken').upsert(id, { jti: id, grantId: firstGrantId }, 60);
        await adapter('AccessToken').upsert(id, { jti: id, grantId: secondGrantId }, 60);

        await adapter('AccessToken').revokeByGrantId(firstGrantId);
        expect(await adapter('AccessToken').find(id)).to.deep.equal({ jti: id, grantId: secondGrantId });

        await adapter('AccessToken').revokeByGrantId(secondGrantId);
        expect(await adapter('AccessToken').find(id)).to.equal(undefined);
      });

      it('is no error for an unknown grant', async () => {
        await adapter('AccessToken').revokeByGrantId(newId());
      });
    });

    describe('revocation marks', () => {
      it('answers whether any of several keys is marked, and forgets a mark once its lifetime is over', async () => {
        const [short, long, unmarked] = [`jti:${newId()}`, `grant:${newId()}`, `jti:${newId()}`];
        expect(await store.anyRevoked([short, long, unmarked])).to.equal(false);
        expect(await store.anyRevoked([])).to.equal(false);
        await store.markRevoked([short], 1);
        await store.markRevoked([long], 60);
        expect(await store.anyRevoked([unmarked, short])).to.equal(true);
        expect(await store.anyRevoked([long])).to.equal(true);
        expect(await store.anyRevoked([unmarked])).to.equal(false);
        await sleep(1100);
        expect(await store.anyRevoked([short, unmarked]), 'expired mark').to.equal(false);
        expect(await store.anyRevoked([long])).to.equal(true);
      });

      it('marks a grant revoked when its records are revoked from any model adapter, or the Grant is destroyed', async () => {
        const [revokedGrant, destroyedGrant, otherGrant] = [newId(), newId(), newId()];
        await adapter('RefreshToken').revokeByGrantId(revokedGrant);
        await adapter('Grant').upsert(destroyedGrant, { jti: destroyedGrant, kind: 'Grant', accountId: newId() }, 60);
        await adapter('Grant').destroy(destroyedGrant);
        expect(await store.anyRevoked([`grant:${revokedGrant}`])).to.equal(true);
        expect(await store.anyRevoked([`grant:${destroyedGrant}`])).to.equal(true);
        expect(await store.anyRevoked([`grant:${otherGrant}`])).to.equal(false);
      });

      it('marks the grant of a record that loses a race to be consumed', async () => {
        const grantId = newId();
        const id = newId();
        await adapter('RefreshToken').upsert(id, { jti: id, kind: 'RefreshToken', grantId }, 60);
        await adapter('RefreshToken').consume(id);
        await adapter('RefreshToken').consume(id).catch(() => undefined);
        expect(await store.anyRevoked([`grant:${grantId}`])).to.equal(true);
      });
    });

    describe('account → grants', () => {
      it('lists the live Grants of an account, following re-upserts and destroy', async () => {
        const [accountId, otherAccountId] = [newId(), newId()];
        const [firstGrantId, secondGrantId, movedGrantId] = [newId(), newId(), newId()];
        await upsertGrant(firstGrantId, accountId);
        await upsertGrant(secondGrantId, accountId);
        await upsertGrant(movedGrantId, accountId);
        await upsertGrant(newId(), otherAccountId);
        expect(await store.grantIdsOfAccount(accountId)).to.have.members([firstGrantId, secondGrantId, movedGrantId]);

        await adapter('Grant').destroy(firstGrantId);
        await upsertGrant(movedGrantId, otherAccountId);
        expect(await store.grantIdsOfAccount(accountId)).to.have.members([secondGrantId]);
        expect(await store.grantIdsOfAccount(otherAccountId)).to.include(movedGrantId);
      });

      it('lists nothing for an unknown account, and ignores other models carrying the account', async () => {
        const accountId = newId();
        const tokenId = newId();
        await adapter('AccessToken').upsert(tokenId, { jti: tokenId, accountId }, 60);
        expect(await store.grantIdsOfAccount(accountId)).to.deep.equal([]);
      });
    });

    describe('account → sessions', () => {
      it('lists the signed-in Sessions of an account, following sign-in, account change and destroy', async () => {
        const [accountId, otherAccountId] = [newId(), newId()];
        const [anonymousId, signedInId, movedId, destroyedId] = [newId(), newId(), newId(), newId()];
        await upsertSession(anonymousId, undefined);
        await upsertSession(signedInId, undefined);
        await upsertSession(movedId, accountId);
        await upsertSession(destroyedId, accountId);
        await upsertSession(signedInId, accountId);
        await upsertSession(movedId, otherAccountId);
        await adapter('Session').destroy(destroyedId);

        const sessions = await store.sessionsOfAccount(accountId);
        expect(sessions.map(({ jti }) => jti)).to.have.members([signedInId]);
        expect(sessions[0]).to.include({ jti: signedInId, accountId });
        expect((await store.sessionsOfAccount(otherAccountId)).map(({ jti }) => jti)).to.have.members([movedId]);
      });

      it('destroys every Session of an account and nothing else', async () => {
        const [accountId, otherAccountId] = [newId(), newId()];
        const [firstId, secondId, otherId] = [newId(), newId(), newId()];
        const firstUid = await upsertSession(firstId, accountId);
        await upsertSession(secondId, accountId);
        await upsertSession(otherId, otherAccountId);
        const grantId = newId();
        await upsertGrant(grantId, accountId);

        expect(await store.destroySessionsOfAccount(accountId)).to.equal(2);

        expect(await store.sessionsOfAccount(accountId)).to.deep.equal([]);
        expect(await adapter('Session').find(firstId)).to.equal(undefined);
        expect(await adapter('Session').findByUid(firstUid)).to.equal(undefined);
        expect(await adapter('Session').find(otherId)).to.include({ accountId: otherAccountId });
        expect(await store.grantIdsOfAccount(accountId)).to.deep.equal([grantId]);
        expect(await store.destroySessionsOfAccount(accountId)).to.equal(0);
      });
    });

    describe('expiry', () => {
      it('hides records and their index entries once their lifetime is over, and re-upserts reset it', async () => {
        const accountId = newId();
        const [tokenId, consumedId, shortenedId, extendedId] = [newId(), newId(), newId(), newId()];
        const [grantId, sessionId, deviceCodeId, replayId] = [newId(), newId(), newId(), newId()];
        const liveGrantId = newId();
        const userCode = newId();

        await adapter('AccessToken').upsert(tokenId, { jti: tokenId }, 1);
        await adapter('AuthorizationCode').upsert(consumedId, { jti: consumedId }, 1);
        await adapter('AuthorizationCode').consume(consumedId);
        await adapter('RefreshToken').upsert(shortenedId, { jti: shortenedId }, 60);
        await adapter('RefreshToken').upsert(shortenedId, { jti: shortenedId }, 1);
        await adapter('RefreshToken').upsert(extendedId, { jti: extendedId }, 1);
        await adapter('RefreshToken').upsert(extendedId, { jti: extendedId }, 60);
        await upsertGrant(grantId, accountId, 1);
        await upsertGrant(liveGrantId, accountId, 60);
        const sessionUid = await upsertSession(sessionId, accountId, 1);
        await adapter('DeviceCode').upsert(deviceCodeId, { jti: deviceCodeId, userCode }, 1);
        await adapter('ReplayDetection').upsert(replayId, { jti: replayId, kind: 'ReplayDetection' }, 1);

        await sleep(1100);

        expect(await adapter('AccessToken').find(tokenId), 'record').to.equal(undefined);
        expect(await adapter('AuthorizationCode').find(consumedId), 'consumed record').to.equal(undefined);
        expect(await adapter('RefreshToken').find(shortenedId), 'shortened record').to.equal(undefined);
        expect(await adapter('RefreshToken').find(extendedId), 'extended record').to.deep.equal({ jti: extendedId });
        expect(await store.grantIdsOfAccount(accountId), 'account grants').to.deep.equal([liveGrantId]);
        expect(await store.sessionsOfAccount(accountId), 'account sessions').to.deep.equal([]);
        expect(await adapter('Session').findByUid(sessionUid), 'uid').to.equal(undefined);
        expect(await adapter('DeviceCode').findByUserCode(userCode), 'user code').to.equal(undefined);
        expect(await store.destroySessionsOfAccount(accountId), 'destroyed sessions').to.equal(0);
        expect(await adapter('ReplayDetection').find(replayId), 'replay detection').to.equal(undefined);
      });
    });

    describe('errors', () => {
      let broken: OidcStore;

      before(async () => {
        broken = await subject.openBroken();
      });

      it('propagates every backend failure to the caller', async () => {
        const brokenAdapter = new broken.Adapter('Session');
        const operations: [string, () => Promise<unknown>][] = [
          ['upsert', () => brokenAdapter.upsert('id', { jti: 'id', uid: 'uid', accountId: 'account' }, 60)],
          ['find', () => brokenAdapter.find('id')],
          ['find (ReplayDetection)', () => new broken.Adapter('ReplayDetection').find('id')],
          ['findByUid', () => brokenAdapter.findByUid('uid')],
          ['findByUserCode', () => brokenAdapter.findByUserCode('code')],
          ['consume', () => brokenAdapter.consume('id')],
          ['destroy', () => brokenAdapter.destroy('id')],
          ['revokeByGrantId', () => brokenAdapter.revokeByGrantId('grant')],
          ['markRevoked', () => broken.markRevoked(['jti:x'], 60)],
          ['anyRevoked', () => broken.anyRevoked(['jti:x'])],
          ['grantIdsOfAccount', () => broken.grantIdsOfAccount('account')],
          ['sessionsOfAccount', () => broken.sessionsOfAccount('account')],
          ['destroySessionsOfAccount', () => broken.destroySessionsOfAccount('account')],
        ];
        for (const [name, operation] of operations) {
          const reason = await rejection(operation());
          // Never dressed as a protocol answer (invalid_grant, ...): the provider gets the failure itself (its 500) or
          // the store-unavailable 503 (src/provider/store-unavailable.ts).
          const protocolAnswer = reason instanceof errors.OIDCProviderError && !(reason instanceof ProviderStoreUnavailable);
          expect(reason, name).to.be.instanceOf(Error);
          expect(protocolAnswer, `${name}: ${String(reason)}`).to.equal(false);
        }
      });

      it('answers a lookup by an id, uid or user code holding NUL as "no record", without the backend', async () => {
        const brokenAdapter = new broken.Adapter('RefreshToken');
        const unstorable = `${newId()}\0`;
        expect(await brokenAdapter.find(unstorable), 'find').to.equal(undefined);
        expect(await brokenAdapter.findByUid(unstorable), 'findByUid').to.equal(undefined);
        expect(await brokenAdapter.findByUserCode(unstorable), 'findByUserCode').to.equal(undefined);
        expect(await rejection(brokenAdapter.destroy(unstorable)), 'destroy').to.equal(undefined);
        const consumeRefusal = await rejection(brokenAdapter.consume(unstorable));
        expect(consumeRefusal, 'consume').to.have.property('error', 'invalid_grant');
      });
    });

    /** One record of every grant-linked model under the grant; returns their ids by model. */
    async function upsertGrantLinked(grantId: string, userCode: string): Promise<Record<string, string>> {
      const ids: Record<string, string> = {};
      for (const model of grantLinkedModels) {
        const id = newId();
        ids[model] = id;
        const payload: AdapterPayload = { jti: id, kind: model, grantId };
        if (model === 'DeviceCode') payload.userCode = userCode;
        await adapter(model).upsert(id, payload, 60);
      }
      return ids;
    }

    async function upsertGrant(grantId: string, accountId: string, expiresIn = 60): Promise<void> {
      await adapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId, clientId: 'client' }, expiresIn);
    }

    /** Upserts a Session, signed in when an account is given; returns its uid. */
    async function upsertSession(id: string, accountId: string | undefined, expiresIn = 60): Promise<string> {
      const uid = `uid-${id}`;
      const payload: AdapterPayload = { jti: id, kind: 'Session', uid };
      if (accountId) payload.accountId = accountId;
      await adapter('Session').upsert(id, payload, expiresIn);
      return uid;
    }
  });
}

/** What oidc-provider 9 reads of a refresh token before it checks `consumed` (lib/actions/grants/refresh_token.js). */
const REFRESH_TOKEN_KEPT = [
  'jti', 'kind', 'iat', 'exp', 'clientId', 'grantId', 'accountId', 'expiresWithSession', 'sessionUid', 'attestationJkt',
  'x5t#S256', 'jkt', 'scope',
];

/** What it reads of an authorization code before that check (lib/actions/grants/authorization_code.js). */
const AUTHORIZATION_CODE_KEPT = [
  'jti', 'kind', 'iat', 'exp', 'clientId', 'grantId', 'accountId', 'expiresWithSession', 'sessionUid', 'attestationJkt',
  'codeChallenge', 'codeChallengeMethod', 'redirectUri',
];

/** A refresh token as oidc-provider stores it, every field of its IN_PAYLOAD set. */
function refreshTokenPayload(id: string): AdapterPayload {
  return {
    ...issuedPayload(id, 'RefreshToken'),
    gty: 'authorization_code',
    'x5t#S256': 'x5t-thumbprint',
    jkt: 'dpop-thumbprint',
    rotations: 2,
    iiat: 1_764_300_000,
  };
}

/** An authorization code as oidc-provider stores it, every field of its IN_PAYLOAD set. */
function authorizationCodePayload(id: string): AdapterPayload {
  return {
    ...issuedPayload(id, 'AuthorizationCode'),
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    redirectUri: 'https://music.example/auth/callback',
    dpopJkt: 'dpop-thumbprint',
  };
}

/** The fields a refresh token and an authorization code have in common. */
function issuedPayload(id: string, kind: string): AdapterPayload {
  return {
    jti: id,
    kind,
    iat: 1_764_300_000,
    exp: epochSeconds() + 60,
    clientId: 'client',
    grantId: newId(),
    accountId: newId(),
    expiresWithSession: false,
    sessionUid: newId(),
    attestationJkt: 'attestation-thumbprint',
    acr: 'urn:mace:incommon:iap:silver',
    amr: ['pwd'],
    authTime: 1_764_300_000,
    claims: { id_token: { email: null } },
    nonce: 'nonce',
    resource: 'urn:chillfi3:client',
    scope: 'openid profile offline_access',
    sid: newId(),
    rar: [{ type: 'playlist' }],
  };
}

function pick(payload: AdapterPayload, keys: readonly string[]): AdapterPayload {
  return Object.fromEntries(keys.map((key) => [key, payload[key]]));
}

/** How many callers race for one record in the concurrency tests. */
const CONCURRENCY = 20;

/** Starts `CONCURRENCY` calls before awaiting any. */
function concurrently<T>(call: () => Promise<T>): Promise<T>[] {
  return Array.from({ length: CONCURRENCY }, call);
}

function newId(): string {
  return randomUUID();
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The reason a promise rejects with, or undefined when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}
