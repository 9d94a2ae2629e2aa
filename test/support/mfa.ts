// Second factors for tests: an authenticator app enrolled on an account, and its codes computed from the secret, at
// the time the server's clock says.
import { Secret, TOTP } from 'otpauth';
import type { Account } from '../../src/accounts/account-entity.js';
import type { TestServer } from './test-server.js';
import { BrowserAgent, formAction, type Page } from './browser-agent.js';

/** A clock a test moves: the server's services.clock. */
export class TestClock {
  now = Date.now();
  readonly read = () => this.now;
  /** Moves on by one TOTP period, so that the next code is a new one. */
  nextPeriod(): void {
    this.now += 30_000;
  }
}

/** The six-digit code of `secret` (base32) at `timestamp`. */
export function totpCode(secret: string, timestamp: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp });
}

/** Enrols an authenticator app on `account` as /account does, returning its secret; the current code is used up. */
export async function enrolTotp(server: TestServer, account: Account): Promise<string> {
  const { totp } = server.services;
  const enrolment = await totp.startEnrolment(account, 'test');
  const result = await totp.confirmEnrolment(account, 'test', enrolment.sealed, totpCode(enrolment.secret, server.services.clock()));
  if (!result.ok) throw new Error(`enrolment failed: ${result.reason}`);
  return enrolment.secret;
}

/** Posts `fields` to the form of `page` whose action ends with `actionSuffix` (the first form when none is named). */
export function submitForm(agent: BrowserAgent, page: Page, fields: Record<string, string>, stopAt?: string, actionSuffix?: string): Promise<Page> {
  const action = actionSuffix ? formActionEndingWith(page.body, actionSuffix) : formAction(page.body);
  return agent.open(new URL(action, page.url).toString(), { form: fields }, stopAt);
}

function formActionEndingWith(html: string, suffix: string): string {
  for (const match of html.matchAll(/<form[^>]*action="([^"]+)"/g)) {
    const action = match[1]!.replace(/&amp;/g, '&');
    if (action.endsWith(suffix)) return action;
  }
  throw new Error(`no form posting to …${suffix}`);
}
