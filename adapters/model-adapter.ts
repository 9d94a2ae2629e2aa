import { errors, Provider, type Adapter, type AdapterPayload } from 'oidc-provider';
import { isStorable } from '../src/db/storable.js';
import { grantMark } from '../src/provider/revocation-marks.js';
import { rethrowForProvider } from '../src/provider/store-unavailable.js';

/** What a store offers every model: the oidc-provider adapter calls, with the model named. */
export interface ModelStore {
  upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  /** Stores the record only if no live one has that id, in one atomic step; true when this call stored it. */
  insertIfAbsent(model: string, id: string, payload: AdapterPayload, expiresIn: number): Promise<boolean>;
  find(model: string, id: string): Promise<AdapterPayload | undefined>;
  findByUid(model: string, uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<AdapterPayload | undefined>;
  /** Marks a live, unconsumed record consumed, in one atomic step; false when it was missing or already consumed. */
  consume(model: string, id: string): Promise<boolean>;
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
  /** Revocation marks (src/provider/revocation-marks.ts): each key marked for `expiresIn` seconds. */
  markRevoked(keys: readonly string[], expiresIn: number): Promise<void>;
  /** Whether any of these keys carries a live mark, in one round trip. */
  anyRevoked(keys: readonly string[]): Promise<boolean>;
}

/**
 * How long the mark left by a replay check lasts before the provider saves the record with its real lifetime, which
 * it does right after (ReplayDetection.unique). Only a crash in between leaves the mark to expire on its own.
 */
const REPLAY_MARK_SECONDS = 60;

/**
 * The oidc-provider Adapter class bound to one store: each instance serves one model. A lookup by a value no store
 * can hold (src/db/storable.ts; values come from requests) finds nothing without asking the store, which on
 * PostgreSQL would fail the whole statement. A store that fails or times out is reported as the provider's 503
 * (src/provider/store-unavailable.ts), not its 500.
 *
 * Revoking a grant's records, or destroying the Grant, also marks the grant revoked for `grantMarkSeconds` (the
 * longest an access token lives): its JWT access tokens are stored nowhere, and the mark is what ends them.
 */
export function modelAdapterClass(store: ModelStore, grantMarkSeconds: number): new (name: string) => Adapter {
  const revokeGrant = (grantId: string) =>
    Promise.all([store.revokeByGrantId(grantId), store.markRevoked([grantMark(grantId)], grantMarkSeconds)]).then(() => undefined);

  return class ModelAdapter implements Adapter {
    constructor(private readonly model: string) {}

    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      return store.upsert(this.model, id, payload, expiresIn).catch(rethrowForProvider);
    }

    /**
     * For ReplayDetection, find is the atomic insert-if-absent. The provider's `ReplayDetection.unique()` asks find
     * whether a jti was seen and saves it afterwards, so concurrent requests would all hear "not seen". Here the one
     * caller that marks the jti hears "not seen"; every other one hears it was, and the provider refuses it with the
     * error that fits where the jti came from (invalid_client for a client assertion, a DPoP error for a proof).
     */
    find(id: string): Promise<AdapterPayload | undefined> {
      return this.findRecord(id).catch(rethrowForProvider);
    }

    private async findRecord(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'ReplayDetection') {
        const mark: AdapterPayload = { jti: id, kind: this.model, exp: epochSeconds() + REPLAY_MARK_SECONDS };
        return (await store.insertIfAbsent(this.model, id, mark, REPLAY_MARK_SECONDS)) ? undefined : mark;
      }
      return isStorable(id) ? store.find(this.model, id) : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return isStorable(uid) ? store.findByUid(this.model, uid).catch(rethrowForProvider) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return isStorable(userCode) ? store.findByUserCode(this.model, userCode).catch(rethrowForProvider) : undefined;
    }

    /**
     * The provider consumes a code or refresh token only after reading it unconsumed, and ignores what consume
     * answers: so a redemption that loses the race to consume is stopped here. Losing means another redemption of the
     * same artifact won, which is reuse: like the provider on a sequential reuse, revoke the grant (its tokens and the
     * Grant itself, so even the winner's fresh tokens die), say so with the event the provider emits when it revokes
     * (`grant.revoked`, on the request's context, which oidc-provider keeps for the request's whole async chain), so
     * that whoever listens (the audit trail) hears of both kinds of reuse alike, then refuse with the protocol error
     * the provider uses.
     */
    consume(id: string): Promise<void> {
      return this.consumeRecord(id).catch(rethrowForProvider);
    }

    private async consumeRecord(id: string): Promise<void> {
      if (!isStorable(id)) throw alreadyConsumed(this.model);
      if (await store.consume(this.model, id)) return;
      const grantId = (await store.find(this.model, id))?.grantId;
      if (typeof grantId === 'string') {
        await Promise.all([revokeGrant(grantId), store.destroy('Grant', grantId)]);
        const ctx = Provider.ctx;
        ctx?.oidc.provider.emit('grant.revoked', ctx, grantId);
      }
      throw alreadyConsumed(this.model);
    }

    async destroy(id: string): Promise<void> {
      if (!isStorable(id)) return;
      const destroyed = store.destroy(this.model, id);
      const marked = this.model === 'Grant' ? store.markRevoked([grantMark(id)], grantMarkSeconds) : undefined;
      await Promise.all([destroyed, marked]).catch(rethrowForProvider);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      if (isStorable(grantId)) await revokeGrant(grantId).catch(rethrowForProvider);
    }
  };
}

/** The provider's own refusal of a reused artifact: invalid_request_uri for a pushed request, else invalid_grant. */
function alreadyConsumed(model: string): Error {
  if (model === 'PushedAuthorizationRequest') {
    return new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
  }
  return new errors.InvalidGrant(`${model} already consumed`);
}

/** Now, in the epoch seconds of oidc-provider payloads (`exp`, `consumed`). */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
