// Passkeys (WebAuthn) through @simplewebauthn/server: registering them to an account, and checking a sign-in with
// one. The relying party is the issuer: its host is the rpID, its origin the only origin accepted, so a passkey works
// on this server alone, and moving the server to another host leaves its passkeys behind (docs/operations.md).
import { isIP } from 'node:net';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Account } from './account-entity.js';
import type { PasskeyChallenges } from './passkey-challenges.js';
import type { Passkey } from './passkey-entity.js';
import { PASSKEY_NAME_MAX, type PasskeyStore } from './passkey-store.js';

/** How long the browser lets a person answer (WebAuthn `timeout`). */
export const PASSKEY_TIMEOUT_MS = 120_000;

/** The product's name as authenticators show it beside the username. */
const RP_NAME = 'ChillFi3';

export interface RelyingParty {
  /** The issuer's host name: what every passkey of this server is bound to. */
  id: string;
  /** The issuer's origin: the only page origin a ceremony may come from. */
  origin: string;
}

/**
 * The relying party of an issuer, or null when passkeys cannot work there: WebAuthn takes a domain as rpID, never an
 * IP address (an issuer such as http://192.168.1.5:3001 offers password sign-in only).
 */
export function relyingPartyOf(issuer: string): RelyingParty | null {
  const url = new URL(issuer);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return null;
  return { id: host, origin: url.origin };
}

/**
 * The RFC 8176 method a passkey proves: a hardware-bound key (`hwk`), or for a synced passkey (backed up: its private
 * key travels between the person's devices) a software-secured one (`swk`).
 */
export function passkeyKeyAmr(backedUp: boolean): string {
  return backedUp ? 'swk' : 'hwk';
}

/** A ceremony's answer refused: 400, with what went wrong in words a person can act on. */
export class PasskeyRefused extends AppError {
  constructor(message: string, cause?: unknown) {
    super('passkey_refused', message, { status: 400, cause });
  }
}

/** Why a sign-in with a passkey was refused: the audit trail's `reason`. */
export type PasskeyFailure = 'expired_challenge' | 'malformed' | 'unknown_passkey' | 'invalid_signature' | 'counter_regressed' | 'counter_raced';

export type PasskeyCheck =
  | { ok: true; passkey: Passkey }
  | { ok: false; reason: PasskeyFailure; passkey?: Passkey; detail?: string };

/** What is read of an answer before the library checks it: enough to find its passkey. The library checks the rest. */
const CredentialAnswer = z.looseObject({
  id: z.string().min(1).max(1400),
  rawId: z.string().max(1400),
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: z.string().max(8192) }),
});

/** The answer posted by the page: JSON text of the browser's PublicKeyCredential, or null when it is not one. */
function parseAnswer(text: string): { id: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = CredentialAnswer.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** A library refusal's message, short, for the audit trail (it may quote what the browser sent). */
function reasonText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}

/** The WebAuthn user handle of an account: its id's bytes (an opaque UUID, nothing personal). */
function userHandleOf(accountId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(accountId, 'utf8'));
}

export class PasskeyCeremonies {
  constructor(
    private readonly store: PasskeyStore,
    private readonly challenges: PasskeyChallenges,
    readonly relyingParty: RelyingParty,
  ) {}

  /** The options for registering a new passkey to the account, its challenge kept under `binding`. */
  async registrationOptions(account: Account, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.store.listOf(account.id);
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: this.relyingParty.id,
      userName: account.username,
      userDisplayName: account.displayName ?? account.username,
      userID: userHandleOf(account.id),
      timeout: PASSKEY_TIMEOUT_MS,
      attestationType: 'none',
      // The same authenticator twice would be one passkey under two names.
      excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
      // Discoverable, so that it can sign in with no username; verified (PIN, biometrics), so that it is a factor of
      // its own and not only something held.
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    await this.challenges.issue(binding, { challenge: options.challenge, subject: account.id });
    return options;
  }

  /** Checks the browser's answer to the challenge under `binding` and registers the passkey as `name`. */
  async register(account: Account, binding: string, answerText: string, name: string): Promise<Passkey> {
    const issued = await this.challenges.take(binding);
    if (!issued || issued.subject !== account.id) throw new PasskeyRefused('this passkey request expired or was not started here: try again');
    const answer = parseAnswer(answerText);
    if (!answer) throw new PasskeyRefused('the browser did not send a passkey');
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: answer as RegistrationResponseJSON,
        expectedChallenge: issued.challenge,
        expectedOrigin: this.relyingParty.origin,
        expectedRPID: this.relyingParty.id,
        requireUserVerification: true,
      });
    } catch (error) {
      throw new PasskeyRefused('the passkey could not be verified', error);
    }
    if (!verified.verified) throw new PasskeyRefused('the passkey could not be verified');
    const { credential, credentialBackedUp } = verified.registrationInfo;
    return this.store.add({
      accountId: account.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      backedUp: credentialBackedUp,
      name,
    });
  }

  /**
   * The options for signing in with a passkey, its challenge kept under `binding`. For `account` (a second factor) the
   * browser is told which passkeys are its; without one (passkey-first) any discoverable passkey of this server answers.
   */
  async authenticationOptions(binding: string, account?: Account): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allowed = account ? await this.store.listOf(account.id) : [];
    const options = await generateAuthenticationOptions({
      rpID: this.relyingParty.id,
      timeout: PASSKEY_TIMEOUT_MS,
      userVerification: 'required',
      allowCredentials: allowed.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
    });
    await this.challenges.issue(binding, { challenge: options.challenge, subject: account?.id ?? null });
    return options;
  }

  /**
   * Checks a sign-in answer against the challenge under `binding` (consumed, whatever the verdict): a passkey of this
   * server, of the challenge's account when it named one, signed over this challenge, this origin and rpID, with the
   * user verified, and with a signature counter that moved forward. Its counter and last use are recorded.
   */
  async authenticate(binding: string, answerText: string): Promise<PasskeyCheck> {
    const issued = await this.challenges.take(binding);
    if (!issued) return { ok: false, reason: 'expired_challenge' };
    const answer = parseAnswer(answerText) as (AuthenticationResponseJSON & { id: string }) | null;
    if (!answer) return { ok: false, reason: 'malformed' };
    const passkey = await this.store.findByCredentialId(answer.id);
    if (!passkey || (issued.subject !== null && passkey.accountId !== issued.subject)) return { ok: false, reason: 'unknown_passkey' };
    const { userHandle } = answer.response;
    if (userHandle !== undefined && userHandle !== Buffer.from(userHandleOf(passkey.accountId)).toString('base64url')) {
      return { ok: false, reason: 'unknown_passkey', passkey };
    }
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response: answer,
        expectedChallenge: issued.challenge,
        expectedOrigin: this.relyingParty.origin,
        expectedRPID: this.relyingParty.id,
        requireUserVerification: true,
        // The library compares counters before it checks the signature: handed 0 it skips that, and the comparison
        // below is made only of a signature known good, so an unsigned answer cannot pass for a cloned authenticator.
        credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: 0 },
      });
    } catch (error) {
      return { ok: false, reason: 'invalid_signature', passkey, detail: reasonText(error) };
    }
    if (!verified.verified) return { ok: false, reason: 'invalid_signature', passkey };
    const { newCounter, credentialBackedUp } = verified.authenticationInfo;
    // WebAuthn §6.1.1: a counter that does not move forward (where either side keeps one) means the credential exists
    // twice: the authenticator was cloned. Refused, and the caller audits it.
    if ((newCounter > 0 || passkey.counter > 0) && newCounter <= passkey.counter) {
      return { ok: false, reason: 'counter_regressed', passkey, detail: `counter ${newCounter}, last seen ${passkey.counter}` };
    }
    if (!(await this.store.recordUse(passkey.id, passkey.counter, newCounter, credentialBackedUp))) return { ok: false, reason: 'counter_raced', passkey };
    return { ok: true, passkey: { ...passkey, counter: newCounter, backedUp: credentialBackedUp } };
  }
}

/** A passkey's name as typed: trimmed, control characters out; null when nothing is left or it is too long. */
export function passkeyName(typed: string): string | null {
  const name = typed.replace(/\p{C}/gu, '').trim();
  return name.length > 0 && [...name].length <= PASSKEY_NAME_MAX ? name : null;
}
