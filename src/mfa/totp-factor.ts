// Authenticator codes (TOTP, RFC 6238: SHA-1, 6 digits, 30 s, as every authenticator app reads them) with the otpauth
// library, and the QR code of the enrolment rendered here by the qrcode library (an SVG data URL: no external service).
//
// One authenticator app per account: its row's id is derived from the account's, so the insert itself refuses a second
// (two enrolments posted at once: one wins). A code is accepted once: the time step it matched is raised atomically in
// the row (SecondFactorStore.advanceCounter), so the same code, or an older one, is refused however many ask at once.
// The secret is sealed with AUTH_SECRET_KEY (purpose `totp-secret`), which `secrets reseal` covers.
import { createHash } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Account } from '../accounts/account-entity.js';
import type { SecretBox } from '../security/secret-box.js';
import type { FactorKind, FactorVerdict, FactorVerifyInput } from './factor-kind.js';
import type { SecondFactorStore } from './second-factor-store.js';

export const TOTP_KIND = 'totp';
export const TOTP_SECRET_PURPOSE = 'totp-secret';
const ENROLMENT_PURPOSE = 'totp-enrolment';
/** How long the QR code of an enrolment stays good: time to open the app and type a code. */
const ENROLMENT_SECONDS = 15 * 60;
const PERIOD = 30;
/** One step either side: a phone clock a little off, a code typed as it turned over. */
const WINDOW = 1;

export interface TotpEnrolment {
  /** The secret in base32, for typing in by hand. */
  secret: string;
  /** The otpauth:// URI the QR code holds. */
  uri: string;
  /** The QR code as an SVG data URL, for an <img>. */
  qrCode: string;
  /** The secret sealed for this account, carried by the confirmation form (nothing is stored until confirmed). */
  sealed: string;
}

export type ConfirmResult = { ok: true; factorId: string } | { ok: false; reason: 'expired' | 'wrong_code' | 'already_enrolled' };

/** A six-digit code as people type it: spaces and dashes dropped. */
export function normalizeCode(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const code = value.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(code) ? code : null;
}

/** The id of the account's authenticator app row (a UUID-shaped hash: one per account). */
function totpFactorId(accountId: string): string {
  const hex = createHash('sha256').update(`totp:${accountId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export interface TotpFactorOptions {
  store: SecondFactorStore;
  secrets: SecretBox;
  /** Shown in the app beside the username: the server's host. */
  issuerLabel: string;
  /** Now, in epoch milliseconds (services.clock). */
  clock: () => number;
}

export class TotpFactor implements FactorKind {
  readonly kind = TOTP_KIND;
  readonly label = 'Authenticator app';
  readonly primary = true;

  constructor(private readonly options: TotpFactorOptions) {}

  #totp(account: Account, secret: Secret): TOTP {
    return new TOTP({ issuer: this.options.issuerLabel, label: account.username, secret, algorithm: 'SHA1', digits: 6, period: PERIOD });
  }

  /** The time step a code matches now (one step either side), or null. */
  #matchingStep(totp: TOTP, code: string): number | null {
    const timestamp = this.options.clock();
    const delta = totp.validate({ token: code, timestamp, window: WINDOW });
    return delta === null ? null : totp.counter({ timestamp }) + delta;
  }

  async available(account: Account): Promise<boolean> {
    return (await this.options.store.list(account.id, TOTP_KIND)).length > 0;
  }

  async challenge(): Promise<Record<string, unknown>> {
    return {};
  }

  async verify({ account, form }: FactorVerifyInput): Promise<FactorVerdict> {
    const code = normalizeCode(form.code);
    if (!code) return { ok: false, reason: 'malformed' };
    for (const factor of await this.options.store.withSecrets(account.id, TOTP_KIND)) {
      if (!factor.secretSealed) continue;
      const secret = Secret.fromBase32(await this.options.secrets.open(factor.secretSealed, TOTP_SECRET_PURPOSE));
      const step = this.#matchingStep(this.#totp(account, secret), code);
      if (step === null) continue;
      if (!(await this.options.store.advanceCounter(factor.id, step))) return { ok: false, reason: 'replayed', factorId: factor.id };
      return { ok: true, amr: ['otp'], factorId: factor.id };
    }
    return { ok: false, reason: 'wrong_code' };
  }

  /** A new secret for `account` and its QR code; `binding` ties the sealed form value to where it may be confirmed. */
  async startEnrolment(account: Account, binding: string): Promise<TotpEnrolment> {
    const secret = new Secret({ size: 20 });
    const totp = this.#totp(account, secret);
    const uri = totp.toString();
    const expires = Math.floor(this.options.clock() / 1000) + ENROLMENT_SECONDS;
    return {
      secret: secret.base32,
      uri,
      qrCode: `data:image/svg+xml;base64,${Buffer.from(await QRCode.toString(uri, { type: 'svg', margin: 1 })).toString('base64')}`,
      sealed: await this.options.secrets.seal(JSON.stringify({ secret: secret.base32, expires }), `${ENROLMENT_PURPOSE}:${account.id}:${binding}`),
    };
  }

  /** Confirms an enrolment with a code from the app: the factor is stored only now, with that code's step used up. */
  async confirmEnrolment(account: Account, binding: string, sealed: unknown, codeInput: unknown, name = 'Authenticator app'): Promise<ConfirmResult> {
    const opened = await this.#openEnrolment(account, binding, sealed);
    if (!opened) return { ok: false, reason: 'expired' };
    const code = normalizeCode(codeInput);
    const step = code ? this.#matchingStep(this.#totp(account, Secret.fromBase32(opened)), code) : null;
    if (step === null) return { ok: false, reason: 'wrong_code' };
    const factor = await this.options.store.add({
      id: totpFactorId(account.id),
      accountId: account.id,
      kind: TOTP_KIND,
      name,
      secretSealed: await this.options.secrets.seal(opened, TOTP_SECRET_PURPOSE),
      lastCounter: step,
    });
    return factor ? { ok: true, factorId: factor.id } : { ok: false, reason: 'already_enrolled' };
  }

  /** The secret of an enrolment form value sealed for this account and binding, while it lasts; else null. */
  async #openEnrolment(account: Account, binding: string, sealed: unknown): Promise<string | null> {
    if (typeof sealed !== 'string' || sealed.length > 2000) return null;
    try {
      const { secret, expires } = JSON.parse(await this.options.secrets.open(sealed, `${ENROLMENT_PURPOSE}:${account.id}:${binding}`)) as { secret: string; expires: number };
      return expires * 1000 > this.options.clock() ? secret : null;
    } catch {
      return null;
    }
  }
}
