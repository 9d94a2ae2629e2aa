// Where a sign-in stands between its password and its second factor: one record per interaction (its uid), in the
// shared store (Redis, else the database: any node serves the next step). Only the password step (or, for a step-up,
// the session's own account) creates it, and the interaction cookie binds the uid to the browser (oidc-provider's
// interactionDetails checks it), so no later step can be reached by posting to it directly: the login prompt stays
// open until the second factor is verified.
import type { OidcStore } from '../../adapters/index.js';

/** Time to find the phone and type a code; the interaction itself lasts an hour. */
const STEP_SECONDS = 15 * 60;

export interface PendingSecondFactor {
  accountId: string;
  /** The account has no factor but must have one: it enrols (an authenticator app) before it goes on. */
  mustEnrol: boolean;
  /** Set once the factor is verified: the amr to finish the sign-in with (after a page the user reads first). */
  verifiedAmr?: string[];
}

export class SecondFactorSteps {
  readonly #records;

  constructor(store: OidcStore) {
    this.#records = new store.Adapter('SecondFactorStep');
  }

  async begin(uid: string, step: PendingSecondFactor): Promise<void> {
    await this.#records.upsert(uid, { ...step }, STEP_SECONDS);
  }

  async find(uid: string): Promise<PendingSecondFactor | null> {
    const record = (await this.#records.find(uid)) as Partial<PendingSecondFactor> | undefined;
    if (!record || typeof record.accountId !== 'string') return null;
    return { accountId: record.accountId, mustEnrol: record.mustEnrol === true, ...(Array.isArray(record.verifiedAmr) ? { verifiedAmr: record.verifiedAmr } : {}) };
  }

  async end(uid: string): Promise<void> {
    await this.#records.destroy(uid);
  }
}
