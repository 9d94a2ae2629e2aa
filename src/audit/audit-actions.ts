// Every action the server writes to the audit trail, by family: what the console's action picker offers. A test
// (test/audit/audit-actions.test.ts) reads the sources for the actions written, so that a new one is listed here too.

export interface AuditActionFamily {
  label: string;
  /** The family's filter (`token.*`), or null for actions that share no prefix. */
  prefix: string | null;
  actions: readonly string[];
}

export const AUDIT_ACTION_FAMILIES: readonly AuditActionFamily[] = [
  { label: 'Sign-in and sign-out', prefix: null, actions: ['login', 'login.denied', 'consent', 'logout', 'backchannel_logout'] },
  { label: 'Tokens', prefix: 'token.*', actions: ['token.issued', 'token.refreshed', 'token.refused', 'token.revoked', 'token.reuse_detected'] },
  { label: 'Grants and sessions', prefix: null, actions: ['grant.revoked', 'sessions.ended'] },
  {
    label: 'Accounts',
    prefix: 'account.*',
    actions: [
      'account.created',
      'account.profile_updated',
      'account.disabled',
      'account.enabled',
      'account.unlocked',
      'account.admin_granted',
      'account.admin_revoked',
      'account.password_set',
      'account.password_cleared',
      'account.password_link_issued',
      'account.password_reset_requested',
      'account.password_changed',
      'account.email_verified',
      'account.notices_changed',
      'account.deleted',
    ],
  },
  {
    label: 'Second factors',
    prefix: 'mfa.*',
    actions: ['mfa.enrolled', 'mfa.verified', 'mfa.failed', 'mfa.recovery_code_used', 'mfa.recovery_codes_generated', 'mfa.removed', 'mfa.reset'],
  },
  { label: 'Passkeys', prefix: 'passkey.*', actions: ['passkey.registered', 'passkey.removed', 'passkey.counter_regressed'] },
  { label: 'Access to instances', prefix: 'access.*', actions: ['access.granted', 'access.changed', 'access.revoked'] },
  {
    label: 'Instances',
    prefix: 'instance.*',
    actions: [
      'instance.created',
      'instance.updated',
      'instance.secret_rotated',
      'instance.deleted',
      'instance.enrolment_token_issued',
      'instance.enrolment_token_withdrawn',
    ],
  },
  { label: 'Signing keys', prefix: 'key.*', actions: ['key.staged', 'key.retired', 'key.removed'] },
];
