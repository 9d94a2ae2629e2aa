import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { EnrolmentToken } from '../src/instances/enrolment-token-entity.js';
import type { EnrolmentTokens } from '../src/instances/enrolment-tokens.js';
import { rethrowForProvider } from '../src/provider/store-unavailable.js';
import { ENROLMENT_POLICIES } from '../src/provider/registration.js';

/** The registration policies (src/provider/registration.ts) an enrolment token's terms call for. */
export function enrolmentPolicies(token: EnrolmentToken): string[] {
  return [
    ENROLMENT_POLICIES.checks,
    ...(token.allowAdmin ? [ENROLMENT_POLICIES.adminScope] : []),
    ...(token.name === null ? [] : [ENROLMENT_POLICIES.fixedName]),
  ];
}

/**
 * oidc-provider's InitialAccessToken model, served read-only from enrolment_tokens: a live token (unused, unexpired,
 * not withdrawn) is found under its own value, with the policies its terms call for. The provider never makes one
 * (admins do: src/admin/enrolment-operations.ts), and it is used up when the instance is stored
 * (src/admin/registration-operations.ts), so every write here is refused.
 */
export class EnrolmentTokenAdapter implements Adapter {
  constructor(private readonly tokens: EnrolmentTokens) {}

  async find(value: string): Promise<AdapterPayload | undefined> {
    const token = await this.tokens.live(value).catch(rethrowForProvider);
    if (!token) return undefined;
    return {
      jti: value,
      kind: 'InitialAccessToken',
      iat: Math.floor(token.createdAt.getTime() / 1000),
      exp: Math.floor(token.expiresAt.getTime() / 1000),
      policies: enrolmentPolicies(token),
    };
  }

  upsert(): Promise<never> {
    return Promise.reject(new Error('enrolment tokens are issued by admins'));
  }

  destroy(): Promise<never> {
    return Promise.reject(new Error('enrolment tokens are withdrawn by admins'));
  }

  findByUid(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  findByUserCode(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  consume(): Promise<never> {
    return Promise.reject(new Error('enrolment tokens are used up by a registration'));
  }

  revokeByGrantId(): Promise<void> {
    return Promise.resolve();
  }
}
