// Enrolment tokens over their life, for every way of asking (the console, the CLI, the admin API): issued and withdrawn
// by an admin, audited; the token itself is returned once to be handed over, and never written to the trail.
import type { AuditLog } from '../audit/audit-log.js';
import { NotFound } from '../errors.js';
import type { EnrolmentToken } from '../instances/enrolment-token-entity.js';
import type { EnrolmentTerms, EnrolmentTokens } from '../instances/enrolment-tokens.js';
import { ROUTES } from '../provider/routes.js';
import { actorDetails, type Actor } from './account-operations.js';

/** What an admin hands over: the token (once), until when it works, and where to register with it. */
export interface EnrolmentTokenView {
  id: string;
  token: string;
  expiresAt: Date;
  registrationEndpoint: string;
  name: string | null;
  accessPolicy: EnrolmentToken['accessPolicy'];
  allowAdmin: boolean;
}

export interface EnrolmentOperationsDependencies {
  enrolmentTokens: EnrolmentTokens;
  audit: AuditLog;
  issuer: string;
}

/** The registration endpoint (RFC 7591) of the server under this issuer. */
export function registrationEndpoint(issuer: string): string {
  return `${issuer}${ROUTES.registration}`;
}

export class EnrolmentOperations {
  constructor(private readonly deps: EnrolmentOperationsDependencies) {}

  async issue(terms: EnrolmentTerms, actor: Actor): Promise<EnrolmentTokenView> {
    const { token, record } = await this.deps.enrolmentTokens.issue(terms, actor.accountId);
    await this.record('instance.enrolment_token_issued', record, actor);
    return {
      id: record.id,
      token,
      expiresAt: record.expiresAt,
      registrationEndpoint: registrationEndpoint(this.deps.issuer),
      name: record.name,
      accessPolicy: record.accessPolicy,
      allowAdmin: record.allowAdmin,
    };
  }

  /** Withdraws an unused token: no registration succeeds with it any more. */
  async withdraw(id: string, actor: Actor): Promise<void> {
    const withdrawn = await this.deps.enrolmentTokens.withdraw(id);
    if (!withdrawn) throw new NotFound(`no unused enrolment token ${id}`);
    await this.record('instance.enrolment_token_withdrawn', withdrawn, actor);
  }

  listLive(): Promise<EnrolmentToken[]> {
    return this.deps.enrolmentTokens.listLive();
  }

  private async record(action: string, token: EnrolmentToken, actor: Actor): Promise<void> {
    await this.deps.audit.record({
      action,
      outcome: 'success',
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
      details: {
        enrolment_token: token.id,
        expires_at: token.expiresAt.toISOString(),
        name: token.name,
        access_policy: token.accessPolicy,
        allow_admin: token.allowAdmin,
        ...actorDetails(actor),
      },
    });
  }
}
