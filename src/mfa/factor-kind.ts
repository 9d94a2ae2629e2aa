// What a kind of second factor is to the rest of the server: the contract between the sign-in step
// (src/interactions/second-factor-step.ts), the registry (second-factors.ts) and each kind (totp-factor.ts,
// recovery-codes.ts; passkeys plug in the same way).
//
// To add a kind:
//   1. implement FactorKind in src/mfa/<kind>-factor.ts: `available` (does this account have one ready),
//      `challenge` (locals for its form at the step, e.g. a WebAuthn challenge bound to `stepId`), and `verify`
//      (judge the posted form; the amr values it proves on success, RFC 8176: 'otp', 'hwk', 'swk', ...);
//   2. write its form as views/factors/<kind>.ejs: it is included in views/second-factor.ejs with the locals
//      `action` (where to post: /interaction/<uid>/factor/<kind>), `csrf`-free (the interaction cookie binds the
//      post), and whatever `challenge` returned; the form posts fields of its own choosing;
//   3. add it to the list in services.ts (`new SecondFactors(store, [...kinds])`).
// The step does the rest for every kind alike: the lockout (each answer is counted as a password attempt before it is
// judged), the per-address limit, the audit entries (mfa.verified / mfa.failed with the kind), and the amr/acr of the
// session (amr: 'pwd' + the kind's + 'mfa'; acr: ACR_MFA). Keep rows in `second_factors` (SecondFactorStore) with
// `kind` set to yours: the admin views list and reset them with no code of yours.
import type { Account } from '../accounts/account-entity.js';
import type { SecondFactor } from './second-factor-entity.js';

/** A factor as the admin views and the account page list it: never a secret. */
export type OwnFactor = Pick<SecondFactor, 'id' | 'kind' | 'name' | 'createdAt' | 'lastUsedAt'>;

export interface FactorChallengeInput {
  account: Account;
  /** The sign-in step this challenge is for (the interaction's uid): bind anything replayable to it. */
  stepId: string;
}

export interface FactorVerifyInput extends FactorChallengeInput {
  /** The posted form, as parsed (strings, unchecked). */
  form: Record<string, unknown>;
}

export type FactorVerdict =
  | {
      ok: true;
      /** RFC 8176 method values this answer proves ('otp', 'hwk', 'swk'). */
      amr: string[];
      /** The factor row used, when there is one. */
      factorId: string | null;
      /** What the audit entry and the next page say of it (e.g. `{ remaining: 7 }` recovery codes). */
      details?: Record<string, unknown>;
    }
  | {
      ok: false;
      /** Why, for the audit trail: 'wrong_code', 'replayed', 'malformed', ... The user is told only "not accepted". */
      reason: string;
      factorId?: string | null;
    };

export interface FactorKind {
  /** Stable id: stored in second_factors.kind, in the step's URL, in views/factors/<kind>.ejs. */
  readonly kind: string;
  /** What the step page calls it ("Authenticator app"). */
  readonly label: string;
  /**
   * Whether having it makes an account one "with a second factor" (for policies and the step being asked at all).
   * Recovery codes are not: they only stand in for a lost factor.
   */
  readonly primary: boolean;
  /** Whether this account can answer with this kind now. */
  available(account: Account): Promise<boolean>;
  /** The locals of its form at the step. */
  challenge(input: FactorChallengeInput): Promise<Record<string, unknown>>;
  /** Judges the answer. A wrong answer is a verdict, never an exception; a store failure throws. */
  verify(input: FactorVerifyInput): Promise<FactorVerdict>;
  /**
   * For a kind that keeps its factors in a table of its own rather than second_factors (passkeys: passkey-factor.ts):
   * lists them for SecondFactors.summary, and removes them all for SecondFactors.reset.
   */
  listOwn?(accountId: string): Promise<OwnFactor[]>;
  removeAllOwn?(accountId: string): Promise<number>;
}
