// "Forgot your password?": the request and what the mail worker makes of it. A request is answered the same way, in
// the same time, whoever it names: the page only checks the input, counts it against two limits that never depend on
// an account (the name or address typed, the client address) and queues it as typed. Which account it names, whether
// that account may have a link and where it goes is found out later by the worker (`prepare`), off the request's
// path: an account that does not exist, is disabled, has no address or already got MAIL_RESET_PER_ACCOUNT_PER_HOUR
// mails this hour gets none, and nobody asking can tell.
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { EntityManager } from 'typeorm';
import type { AccountStore } from '../accounts/account-store.js';
import { setPasswordUrl, type PasswordLinks } from '../accounts/password-links.js';
import { usernameKey } from '../accounts/username.js';
import type { AuditLog } from '../audit/audit-log.js';
import { isStorable } from '../db/storable.js';
import { BadRequest, TooManyRequests } from '../errors.js';
import { rateLimited } from '../metrics/metrics.js';
import { createRateLimiter, type LimiterBackend } from '../security/rate-limiter-store.js';
import { mailableAddress } from './mail-address.js';
import type { RequestOrigin } from './mail-kinds.js';
import type { MailOutbox, ResetRequest } from './mail-outbox.js';
import type { PreparedRequest } from './mail-worker.js';
import { mailTime } from './mail-templates.js';

const HOUR_SECONDS = 3600;
/** The longest username or address a request may name (an address's limit). */
export const MAX_IDENTIFIER_LENGTH = 254;
/** The longest user agent a mail quotes. */
const MAX_USER_AGENT_LENGTH = 300;

export interface PasswordResetDependencies {
  accounts: AccountStore;
  passwordLinks: PasswordLinks;
  outbox: MailOutbox;
  audit: AuditLog;
  limiterBackend: LimiterBackend;
  issuer: string;
  limits: { perAccountPerHour: number; perIpPerHour: number };
  clock: () => number;
}

export class PasswordReset {
  readonly #perIdentifier: RateLimiterAbstract;
  readonly #perIp: RateLimiterAbstract;

  constructor(private readonly deps: PasswordResetDependencies) {
    this.#perIdentifier = createRateLimiter(deps.limiterBackend, { keyPrefix: 'reset-name', points: deps.limits.perAccountPerHour, duration: HOUR_SECONDS });
    this.#perIp = createRateLimiter(deps.limiterBackend, { keyPrefix: 'reset-ip', points: deps.limits.perIpPerHour, duration: HOUR_SECONDS });
  }

  /** Checks and counts the request, and queues it. BadRequest for unusable input, TooManyRequests past a limit. */
  async request(identifier: string, origin: RequestOrigin): Promise<void> {
    const typed = identifier.trim();
    if (typed === '' || [...typed].length > MAX_IDENTIFIER_LENGTH || !isStorable(typed) || /[\p{Cc}]/u.test(typed)) {
      throw new BadRequest('type your username or e-mail address (one line, at most 254 characters)');
    }
    // Keyed by what was typed, as the accounts are keyed (a username's case and look-alike forms are one key).
    await this.#consume(this.#perIdentifier, usernameKey(typed));
    await this.#consume(this.#perIp, origin.ip ?? 'unknown');
    const userAgent = origin.userAgent ? origin.userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null;
    await this.deps.outbox.enqueue({ kind: 'password_reset_request', identifier: typed, origin: { ip: origin.ip, userAgent } });
  }

  async #consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      rateLimited.inc({ limit: 'password-reset' });
      throw new TooManyRequests('too many requests for a new password; try again later', Math.ceil(rejection.msBeforeNext / 1000));
    }
  }

  /**
   * The worker's part (src/mail/mail-worker.ts), in its transaction: the account the request names, if it may get a
   * link, gets one (older links withdrawn) and its mail; no mail otherwise. Audited after the transaction whenever an
   * account was named, so that its owner and admins can see who asked, from where.
   */
  prepare = async (request: ResetRequest, manager: EntityManager): Promise<PreparedRequest> => {
    const account = await this.deps.accounts.findForReset(request.identifier, manager);
    if (!account) return { mail: null };
    const to = mailableAddress(account.email);
    const since = new Date(this.deps.clock() - HOUR_SECONDS * 1000);
    const overLimit = async () =>
      (await this.deps.outbox.countForAccountSince(account.id, ['password_reset'], since, manager)) >= this.deps.limits.perAccountPerHour;
    const refusal = account.disabled ? 'disabled' : !to ? 'no_email' : (await overLimit()) ? 'limit' : null;
    const facts = { action: 'account.password_reset_requested', accountId: account.id, ip: request.origin.ip, userAgent: request.origin.userAgent };
    if (refusal !== null) {
      return { mail: null, afterCommit: () => this.deps.audit.record({ ...facts, outcome: 'failure', details: { reason: refusal, via: 'web' } }) };
    }
    const link = await this.deps.passwordLinks.issue(account.id, manager);
    return {
      mail: {
        kind: 'password_reset',
        to: account.email!,
        accountId: account.id,
        data: { username: account.username, url: setPasswordUrl(this.deps.issuer, link.secret), expiresAt: mailTime(link.expiresAt), origin: request.origin },
      },
      afterCommit: () => this.deps.audit.record({ ...facts, outcome: 'success', details: { expires_at: link.expiresAt.toISOString(), via: 'web' } }),
    };
  };
}
