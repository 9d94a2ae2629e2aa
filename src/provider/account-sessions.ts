// The single sign-on sessions and grants of one account, for whoever manages it: listed, and ended the way "sign out
// everywhere" ends them. Every instance signed in through an ended session is told by back-channel logout (the
// provider's own Client.backchannelLogout, its outcome reported through the provider's backchannel.* events like a
// sign-out's), and every grant is revoked with its codes and tokens, so introspection answers inactive at once and no
// refresh token works again. oidc-provider does this only for the session of the current request; this does it for
// any account, from the CLI or the admin API.
import type { AdapterPayload, Provider } from 'oidc-provider';
import type { OidcStore } from '../../adapters/index.js';
import type { RevocationAnnouncer, RevocationNotice } from '../revocations/revocation-feed.js';

/** One single sign-on session, by its public handle (the uid: the session id itself is the cookie's secret). */
export interface SessionSummary {
  uid: string;
  /** Epoch seconds. */
  signedInAt: number | null;
  expiresAt: number | null;
  /** The instances signed in through it. */
  clientIds: string[];
}

export interface EndedSessions {
  sessions: number;
  grants: number;
}

/** Client.backchannelLogout, which oidc-provider's type declarations leave out. */
interface BackchannelLogoutClient {
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

interface Authorization {
  sid?: string;
  grantId?: string;
}

function authorizationsOf(session: AdapterPayload): [string, Authorization][] {
  return Object.entries((session.authorizations ?? {}) as Record<string, Authorization>);
}

function grantIdsOf(sessions: AdapterPayload[]): Set<string> {
  const ids = sessions.flatMap((session) => authorizationsOf(session).map(([, { grantId }]) => grantId));
  return new Set(ids.filter((id): id is string => typeof id === 'string'));
}

/** What is left of a session's lifetime, for writing it back unchanged but for its content. */
function remainingSeconds(session: AdapterPayload): number | undefined {
  return typeof session.exp === 'number' ? session.exp - Math.floor(Date.now() / 1000) : undefined;
}

function summary(session: AdapterPayload): SessionSummary {
  return {
    uid: session.uid as string,
    signedInAt: typeof session.loginTs === 'number' ? session.loginTs : null,
    expiresAt: typeof session.exp === 'number' ? session.exp : null,
    clientIds: authorizationsOf(session).map(([clientId]) => clientId),
  };
}

export class AccountSessions {
  constructor(
    /** The provider current when a logout token is signed (its signing keys change with a rotation). */
    private readonly provider: () => Provider,
    private readonly store: OidcStore,
    /** Tells the instances on their revocation streams (src/revocations/revocation-feed.ts). */
    private readonly revocations: RevocationAnnouncer,
  ) {}

  async list(accountId: string): Promise<SessionSummary[]> {
    const sessions = await this.store.sessionsOfAccount(accountId);
    return sessions.filter((session) => typeof session.uid === 'string').map(summary);
  }

  /** The uid of the account's session in which the instance `clientId` was given `sid` (its tokens' `sid` claim). */
  async uidOfSid(accountId: string, clientId: string, sid: string): Promise<string | undefined> {
    const sessions = await this.store.sessionsOfAccount(accountId);
    const session = sessions.find((candidate) => authorizationsOf(candidate).some(([id, authorization]) => id === clientId && authorization.sid === sid));
    return typeof session?.uid === 'string' ? session.uid : undefined;
  }

  /** Ends one session of the account and its grants; null when the account has no session with that uid. */
  async end(accountId: string, uid: string): Promise<EndedSessions | null> {
    const session = (await this.store.sessionsOfAccount(accountId)).find((candidate) => candidate.uid === uid);
    if (!session) return null;
    await this.endSessions(accountId, [session]);
    const grants = grantIdsOf([session]);
    await this.revokeGrants(grants);
    return { sessions: 1, grants: grants.size };
  }

  /**
   * Ends every session and grant of the account, but for the session `keepUid` names and the grants signed in
   * through it: "sign out my other sessions" after a password change.
   */
  async endAll(accountId: string, { keepUid }: { keepUid?: string } = {}): Promise<EndedSessions> {
    const sessions = await this.store.sessionsOfAccount(accountId);
    const kept = sessions.find((session) => keepUid !== undefined && session.uid === keepUid);
    const keptGrants = grantIdsOf(kept ? [kept] : []);
    const ending = sessions.filter((session) => session !== kept);
    await this.endSessions(accountId, ending);
    const grants = new Set([...grantIdsOf(ending), ...(await this.store.grantIdsOfAccount(accountId))]);
    for (const grantId of keptGrants) grants.delete(grantId);
    await this.revokeGrants(grants);
    return { sessions: ending.length, grants: grants.size };
  }

  /**
   * Ends what the account holds on one instance: that instance is told by back-channel logout for every session it
   * was signed in through, those sessions forget it (the next visit asks again), and its grants are revoked. Other
   * instances stay signed in.
   */
  async endForInstance(accountId: string, clientId: string): Promise<EndedSessions> {
    const sessions = await this.store.sessionsOfAccount(accountId);
    const through = sessions.filter((session) => authorizationsOf(session).some(([id]) => id === clientId));
    const sessionAdapter = new this.store.Adapter('Session');
    await Promise.all(
      through.map(async (session) => {
        const authorizations = (session.authorizations ?? {}) as Record<string, Authorization>;
        await this.notify(clientId, accountId, authorizations[clientId]?.sid);
        await this.revocations.announce([{ clientId, type: 'session.ended', details: { sub: accountId, sid: authorizations[clientId]?.sid ?? null } }]);
        const { [clientId]: _ended, ...rest } = authorizations;
        await sessionAdapter.upsert(session.jti as string, { ...session, authorizations: rest }, remainingSeconds(session));
      }),
    );
    const grantAdapter = new this.store.Adapter('Grant');
    const grantIds = await this.store.grantIdsOfAccount(accountId);
    const grants = await Promise.all(grantIds.map(async (grantId) => ({ grantId, grant: await grantAdapter.find(grantId) })));
    const ending = grants.filter(({ grant }) => grant?.clientId === clientId).map(({ grantId }) => grantId);
    await this.revokeGrants(ending);
    return { sessions: through.length, grants: ending.length };
  }

  /** Tells every instance of the sessions by back-channel logout, then removes the sessions. */
  private async endSessions(accountId: string, sessions: AdapterPayload[]): Promise<void> {
    const sessionAdapter = new this.store.Adapter('Session');
    await Promise.all(
      sessions.map(async (session) => {
        await Promise.all(authorizationsOf(session).map(([clientId, { sid }]) => this.notify(clientId, accountId, sid)));
        await sessionAdapter.destroy(session.jti as string);
        await this.revocations.announce(
          authorizationsOf(session).map(([clientId, { sid }]): RevocationNotice => ({ clientId, type: 'session.ended', details: { sub: accountId, sid: sid ?? null } })),
        );
      }),
    );
  }

  /** Back-channel logout to one instance; a failed delivery is reported, never thrown: the session ends anyway. */
  private async notify(clientId: string, accountId: string, sid: string | undefined): Promise<void> {
    const provider = this.provider();
    const client = await provider.Client.find(clientId);
    if (!client?.backchannelLogoutUri || !sid) return;
    try {
      await (client as unknown as BackchannelLogoutClient).backchannelLogout(accountId, sid);
      provider.emit('backchannel.success', undefined, client, accountId, sid);
    } catch (error) {
      provider.emit('backchannel.error', undefined, error, client, accountId, sid);
    }
  }

  /** Revokes each grant with every code and token issued under it, and tells its instance. */
  private async revokeGrants(grantIds: Iterable<string>): Promise<void> {
    const grants = new this.store.Adapter('Grant');
    const notices = await Promise.all(
      [...grantIds].map(async (grantId): Promise<RevocationNotice | null> => {
        const grant = await grants.find(grantId);
        await Promise.all([grants.revokeByGrantId(grantId), grants.destroy(grantId)]);
        return typeof grant?.clientId === 'string'
          ? { clientId: grant.clientId, type: 'grant.revoked', details: { grantId, sub: typeof grant.accountId === 'string' ? grant.accountId : null } }
          : null;
      }),
    );
    await this.revocations.announce(notices.filter((notice): notice is RevocationNotice => notice !== null));
  }
}
