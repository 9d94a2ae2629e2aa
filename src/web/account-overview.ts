// What the account page shows of a person beyond their profile, gathered from the stores: the ChillFi3 servers they
// can use, their single sign-on sessions with the servers signed in through each, and their recent sign-ins.
import type { Account } from '../accounts/account-entity.js';
import type { SignInFailure } from '../accounts/authenticator.js';
import type { PasskeyFailure } from '../accounts/passkey-ceremonies.js';
import type { Instance } from '../instances/instance-entity.js';
import { CONSOLE_CLIENT_ID, CONSOLE_CLIENT_NAME } from '../provider/console-client.js';
import type { Services } from '../services.js';

/** How many sign-ins the page lists. */
export const RECENT_SIGN_INS = 10;

export interface UsableInstance {
  name: string;
  /** The origin of its first redirect URI: where its users open it. */
  url: string | null;
  role: string;
}

export interface SessionView {
  uid: string;
  current: boolean;
  signedInAt: Date | null;
  expiresAt: Date | null;
  /** The servers signed in through it, by name. */
  signedIn: string[];
}

export interface SignInView {
  at: Date;
  ok: boolean;
  /** Why it failed, in words; null for a success. */
  problem: string | null;
  /** Where the person was signing in to. */
  to: string;
  ip: string | null;
}

export interface AccountOverview {
  instances: UsableInstance[];
  sessions: SessionView[];
  signIns: SignInView[];
}

const FAILURE_WORDS: Record<SignInFailure | PasskeyFailure | 'denied', string> = {
  invalid_credentials: 'wrong username or password',
  locked: 'locked after too many attempts',
  disabled: 'account disabled',
  password_not_set: 'no password set yet',
  denied: 'no access to this server',
  expired_challenge: 'passkey request expired',
  malformed: 'no passkey sent',
  unknown_passkey: 'passkey not registered',
  invalid_signature: 'passkey not verified',
  counter_regressed: 'passkey refused: it may have been copied',
  counter_raced: 'passkey used twice at once',
};

function originOf(redirectUri: string | undefined): string | null {
  return (redirectUri && URL.parse(redirectUri)?.origin) || null;
}

function fromEpoch(seconds: number | null): Date | null {
  return seconds === null ? null : new Date(seconds * 1000);
}

export async function accountOverview(services: Services, account: Account, currentSessionUid: string): Promise<AccountOverview> {
  const [instances, access, sessions, activity] = await Promise.all([
    services.instances.list(),
    services.instances.listAccess({ accountId: account.id }),
    services.accountSessions.list(account.id),
    services.audit.query({ accountId: account.id, actions: ['login', 'login.*'], limit: RECENT_SIGN_INS }),
  ]);
  const byClientId = new Map(instances.map((instance) => [instance.clientId, instance]));
  const byId = new Map(instances.map((instance) => [instance.id, instance]));
  const roleOn = new Map(access.map((entry) => [entry.instanceId, entry.role]));
  const nameOf = (clientId: string | undefined) =>
    clientId === CONSOLE_CLIENT_ID ? CONSOLE_CLIENT_NAME : ((clientId && byClientId.get(clientId)?.name) ?? 'a server no longer registered');

  // Only instances that sign people in, and of those the open ones and those this account was let into; a server admin
  // may use every one: an invite-only one as admin where they have no role of their own, an open one as the member its
  // first sign-in makes them (provider/instance-access-check.ts).
  const usable = instances.filter(
    (instance: Instance) =>
      instance.grantTypes.includes('authorization_code') && (instance.accessPolicy === 'open' || roleOn.has(instance.id) || account.isAdmin),
  );
  return {
    instances: usable.map((instance) => ({
      name: instance.name,
      url: originOf(instance.redirectUris[0]),
      role: roleOn.get(instance.id) ?? (account.isAdmin && instance.accessPolicy === 'invite' ? 'admin' : 'member'),
    })),
    sessions: sessions
      .map((session) => ({
        uid: session.uid,
        current: session.uid === currentSessionUid,
        signedInAt: fromEpoch(session.signedInAt),
        expiresAt: fromEpoch(session.expiresAt),
        signedIn: session.clientIds.map(nameOf),
      }))
      .sort((a, b) => Number(b.current) - Number(a.current) || (b.signedInAt?.getTime() ?? 0) - (a.signedInAt?.getTime() ?? 0)),
    signIns: activity.events.map((event) => {
      const reason = event.action === 'login.denied' ? 'denied' : (event.details?.reason as SignInFailure | PasskeyFailure | undefined);
      const clientId = typeof event.details?.client_id === 'string' ? event.details.client_id : undefined;
      return {
        at: event.at,
        ok: event.outcome === 'success',
        problem: event.outcome === 'success' ? null : ((reason && FAILURE_WORDS[reason]) ?? 'refused'),
        to: event.instanceId ? (byId.get(event.instanceId)?.name ?? nameOf(clientId)) : nameOf(clientId),
        ip: event.ip,
      };
    }),
  };
}
