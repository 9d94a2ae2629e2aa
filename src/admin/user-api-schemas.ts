// The user API's bodies, in and out, as zod schemas: the ones that check each request are the ones the OpenAPI
// document (src/admin/openapi.ts) publishes. Request objects are strict (an unknown field is refused, not ignored);
// the limits are the account store's, which checks them again for every other way in (CLI, pages).
import { z } from 'zod';
import type { Account } from '../accounts/account-entity.js';
import { EMAIL_PATTERN, PROFILE_LIMITS } from '../accounts/account-store.js';
import { MAX_PASSWORD_LENGTH } from '../accounts/password-policy.js';
import { newUsernameProblem, USERNAME_RULE } from '../accounts/username.js';
import type { MailedPasswordLink, PasswordLinkView } from './account-operations.js';
import type { SessionSummary } from '../provider/account-sessions.js';

/** Every schema the document names, by its component name. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

/** A string a store can hold (no NUL: PostgreSQL text refuses it), of at most `max` characters. */
function text(max: number) {
  return z.string().max(max).refine((value) => !value.includes('\0'), 'must not contain a NUL character');
}

const password = text(MAX_PASSWORD_LENGTH);

/** A new username (src/accounts/username.ts): a refusal names the field and the rule. */
const newUsername = z
  .string()
  .superRefine((value, check) => {
    const problem = newUsernameProblem(value);
    if (problem) check.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: `${USERNAME_RULE}; unique without regard to case or look-alike forms (NFKC)` });

const profileFields = {
  displayName: text(PROFILE_LIMITS.displayName).nullable().meta({ description: 'null (or blank) clears it' }),
  email: text(PROFILE_LIMITS.email).regex(EMAIL_PATTERN, 'not a valid email address').nullable().meta({ description: 'null clears it' }),
  bio: text(PROFILE_LIMITS.bio).nullable().meta({ description: 'null (or blank) clears it' }),
  picture: text(PROFILE_LIMITS.picture).nullable().meta({ description: 'an http or https URL; null clears it' }),
};

export const RegisterRequest = z.strictObject({
  username: newUsername,
  password: password.optional().meta({ description: 'under the password policy; without one, the answer carries a set-password link' }),
  displayName: profileFields.displayName.optional(),
  email: profileFields.email.optional(),
  localUserId: z.int().min(1).max(2_147_483_647).optional().meta({ description: "the user's id in the instance's own database" }),
  role: z.enum(['member', 'admin']).optional().meta({ description: 'the role on the instance the token was issued to; member by default' }),
});
apiSchemas.add(RegisterRequest, { id: 'RegisterRequest', description: 'A new account, with access to the instance the token was issued to' });

export const ProfileUpdate = z.strictObject({
  displayName: profileFields.displayName.optional(),
  email: profileFields.email.optional(),
  bio: profileFields.bio.optional(),
  picture: profileFields.picture.optional(),
});
apiSchemas.add(ProfileUpdate, { id: 'ProfileUpdate', description: 'The fields to change; the others stay as they are' });

export const OwnPasswordChange = z.strictObject({ current: password, password });
apiSchemas.add(OwnPasswordChange, { id: 'OwnPasswordChange', description: 'The owner changes their password: their other sessions end' });

export const AdminPasswordSet = z.strictObject({
  password: password.nullable().meta({ description: 'null clears it: the answer carries a set-password link' }),
});
apiSchemas.add(AdminPasswordSet, { id: 'AdminPasswordSet', description: 'An admin sets or clears the password: every session ends' });

export const PasswordChange = z.union([OwnPasswordChange, AdminPasswordSet]);
apiSchemas.add(PasswordChange, { id: 'PasswordChange' });

export const LocalIdUpdate = z.strictObject({
  localUserId: z.int().min(1).max(2_147_483_647).meta({ description: "the user's id in the instance's own database" }),
});
apiSchemas.add(LocalIdUpdate, { id: 'LocalIdUpdate', description: "The user's local id on the instance the token was issued to" });

export const UserProfile = z.strictObject({
  id: z.string(),
  username: z.string(),
  displayName: z.string().nullable(),
  email: z.string().nullable(),
  bio: z.string().nullable(),
  picture: z.string().nullable(),
  isAdmin: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  lastLoginAt: z.iso.datetime().nullable(),
});
apiSchemas.add(UserProfile, { id: 'UserProfile' });

export const PasswordLink = z.strictObject({
  url: z.url().meta({ description: 'shown once: its secret is stored nowhere' }),
  expiresAt: z.iso.datetime(),
});
apiSchemas.add(PasswordLink, { id: 'PasswordLink', description: 'A single-use link where the owner sets their password' });

export const PasswordLinkMailed = z.strictObject({
  to: z.string().meta({ description: "the account's address the link went to (it is sent from the outbox: a relay that is down delays it)" }),
  expiresAt: z.iso.datetime(),
});
apiSchemas.add(PasswordLinkMailed, { id: 'PasswordLinkMailed', description: "A single-use set-password link mailed to the owner's address instead of shown" });

/** `?deliver=mail`: a set-password link goes to the account's address instead of into the answer. */
export const LinkDelivery = z.strictObject({
  deliver: z.enum(['show', 'mail']).optional().meta({ description: "show (the default): the link is in the answer; mail: it is mailed to the account's address (409 without SMTP_URL or without an address)" }),
});

export const Registered = z.strictObject({ user: UserProfile, passwordLink: PasswordLink.optional(), passwordLinkMailed: PasswordLinkMailed.optional() });
apiSchemas.add(Registered, { id: 'Registered' });

export const PasswordCleared = z.union([z.strictObject({ passwordLink: PasswordLink }), z.strictObject({ passwordLinkMailed: PasswordLinkMailed })]);
apiSchemas.add(PasswordCleared, { id: 'PasswordCleared' });

export const PasswordLinkIssued = z.union([z.strictObject({ passwordLink: PasswordLink }), z.strictObject({ passwordLinkMailed: PasswordLinkMailed })]);
apiSchemas.add(PasswordLinkIssued, { id: 'PasswordLinkIssued', description: 'The password stays until the link is used; older links stop working' });

export const Session = z.strictObject({
  uid: z.string(),
  signedInAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  clientIds: z.array(z.string()).meta({ description: 'the instances signed in through it' }),
});
apiSchemas.add(Session, { id: 'Session', description: 'A single sign-on session' });

export const SessionList = z.strictObject({ sessions: z.array(Session) });
apiSchemas.add(SessionList, { id: 'SessionList' });

export const SessionsEnded = z.strictObject({ sessions: z.int().min(0), grants: z.int().min(0) });
apiSchemas.add(SessionsEnded, { id: 'SessionsEnded', description: 'How many sessions and grants ended' });

export const Problem = z.object({ type: z.string(), title: z.string(), status: z.int(), detail: z.string() });
apiSchemas.add(Problem, { id: 'Problem', description: 'RFC 9457 problem details' });

export function userProfile(account: Account): z.infer<typeof UserProfile> {
  return {
    id: account.id,
    username: account.username,
    displayName: account.displayName,
    email: account.email,
    bio: account.bio,
    picture: account.picture,
    isAdmin: account.isAdmin,
    disabled: account.disabled,
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
    lastLoginAt: account.lastLoginAt?.toISOString() ?? null,
  };
}

export function passwordLink(link: PasswordLinkView): z.infer<typeof PasswordLink> {
  return { url: link.url, expiresAt: link.expiresAt.toISOString() };
}

export function passwordLinkMailed(link: MailedPasswordLink): z.infer<typeof PasswordLinkMailed> {
  return { to: link.mailedTo, expiresAt: link.expiresAt.toISOString() };
}

function epochToIso(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

export function session(summary: SessionSummary): z.infer<typeof Session> {
  return { uid: summary.uid, signedInAt: epochToIso(summary.signedInAt), expiresAt: epochToIso(summary.expiresAt), clientIds: summary.clientIds };
}
