// The challenges of WebAuthn ceremonies between handing out the options and checking the answer. Each lives in the
// shared store (Redis, else the database: whichever node gets the answer finds it) for CHALLENGE_SECONDS under the
// binding it was issued to: the browser's sign-in interaction, or its session on the account page. A binding holds
// one challenge at a time (asking again replaces it), and taking it consumes it atomically: of any number of answers
// to one challenge, on any number of nodes, one is checked against it, and only once.
import { errors } from 'oidc-provider';
import type { OidcStore } from '../../adapters/index.js';

/** How long a challenge can be answered: the ceremony's timeout (PASSKEY_TIMEOUT_MS) and some slack for the network. */
export const CHALLENGE_SECONDS = 300;

/** The store's model name of the challenges. */
export const PASSKEY_CHALLENGE_MODEL = 'PasskeyChallenge';

export interface IssuedChallenge {
  challenge: string;
  /** The account the ceremony is for (registration, a second factor); null when the passkey says who (passkey-first). */
  subject: string | null;
}

export class PasskeyChallenges {
  readonly #records;

  constructor(store: OidcStore) {
    this.#records = new store.Adapter(PASSKEY_CHALLENGE_MODEL);
  }

  /** Keeps the challenge for the binding, in place of any it held. */
  async issue(binding: string, issued: IssuedChallenge): Promise<void> {
    await this.#records.upsert(binding, { challenge: issued.challenge, subject: issued.subject }, CHALLENGE_SECONDS);
  }

  /** The binding's challenge, consumed; null when it has none live (expired, never issued, or already taken). */
  async take(binding: string): Promise<IssuedChallenge | null> {
    try {
      await this.#records.consume(binding);
    } catch (error) {
      // The adapter's refusal of a missing or consumed record; a store failure goes on (a 503).
      if (error instanceof errors.InvalidGrant) return null;
      throw error;
    }
    const record = await this.#records.find(binding);
    await this.#records.destroy(binding);
    if (typeof record?.challenge !== 'string') return null;
    return { challenge: record.challenge, subject: typeof record.subject === 'string' ? record.subject : null };
  }
}
