// The auth server's user API (README "User API") for the instance's own code, such as ChillFi3's admin panel:
// register accounts with a role on this instance, read, update and delete them, make set-password links, change one's
// own password. Each call is
// made as someone: the signed-in user of a socket or request (their access token, which the auth server checks against
// its rules), a token given as is, or by default the instance itself (its service token, which may only read its
// users, with scope users:read, which the instance must be allowed). Only HTTP to the auth server, through the client's timed fetch.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthClient } from './auth-client.js';
import { UserApiError } from './errors.js';
import { presentedAccessToken, socketCredentials } from './request-auth.js';

/** An account as the user API shows it. */
export interface UserProfile {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  bio: string | null;
  picture: string | null;
  /** An admin of the auth server (not of this instance: that is the role). */
  isAdmin: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export interface NewUser {
  username: string;
  /** Without one, the answer carries a set-password link for the new user. */
  password?: string;
  displayName?: string | null;
  email?: string | null;
  /** The user's id in this instance's own database (ChillFi3's users.id), when its row exists already. */
  localUserId?: number;
  /** The role on this instance: 'member' (default) or 'admin' (ChillFi3's "Admin user" box). */
  role?: 'member' | 'admin';
}

export interface ProfileChanges {
  displayName?: string | null;
  email?: string | null;
  bio?: string | null;
  picture?: string | null;
}

export interface RegisteredUser {
  user: UserProfile;
  /** The set-password link to hand to the new user (shown once), when registered without a password. */
  passwordLink: string | null;
}

/**
 * Whom a call is made as: a Socket.IO socket or an HTTP request (its bearer token, else its browser session's access
 * token), or an access token. Omitted: the instance's own service token.
 */
export type UserApiCaller =
  | string
  | { handshake: { auth: Record<string, unknown>; headers: IncomingHttpHeaders } }
  | { headers: IncomingHttpHeaders };

export interface CallOptions {
  as?: UserApiCaller;
}

/** The scope the instance's own token needs to read its users (the instance must be allowed it). */
const USERS_READ_SCOPE = 'users:read';

interface PasswordLinkBody {
  passwordLink: { url: string; expiresAt: string };
}

export class UserApiClient {
  constructor(private readonly client: AuthClient) {}

  /** Registers an account with access to this instance (POST /auth/register): an admin's call. */
  async register(user: NewUser, options: CallOptions = {}): Promise<RegisteredUser> {
    const answer = await this.call<{ user: UserProfile; passwordLink?: PasswordLinkBody['passwordLink'] }>('POST', '/auth/register', options, user);
    return { user: answer.user, passwordLink: answer.passwordLink?.url ?? null };
  }

  /** The account's profile (GET /users/:id). */
  read(id: string, options: CallOptions = {}): Promise<UserProfile> {
    return this.call('GET', userPath(id), options);
  }

  /** Changes the account's profile (PUT /users/:id); null clears a field. Answers the profile as it now is. */
  update(id: string, changes: ProfileChanges, options: CallOptions = {}): Promise<UserProfile> {
    return this.call('PUT', userPath(id), options, changes);
  }

  /**
   * The owner changes their password, giving the current one (PUT /users/:id/password): their other sessions end, the
   * one the caller's token belongs to stays. 400 with the detail for a wrong current password or one the policy refuses.
   */
  async changePassword(id: string, change: { current: string; password: string }, options: CallOptions = {}): Promise<void> {
    await this.call('PUT', `${userPath(id)}/password`, options, change);
  }

  /** Deletes the account (DELETE /users/:id): its sessions end everywhere first. */
  async delete(id: string, options: CallOptions = {}): Promise<void> {
    await this.call('DELETE', userPath(id), options);
  }

  /** A fresh set-password link for the account's owner (POST /users/:id/password-link), as a URL to show once. */
  async passwordLink(id: string, options: CallOptions = {}): Promise<string> {
    return (await this.call<PasswordLinkBody>('POST', `${userPath(id)}/password-link`, options)).passwordLink.url;
  }

  /** The access token the call is made with. */
  private tokenOf(caller: UserApiCaller | undefined): Promise<string> {
    if (caller === undefined) return this.client.getServiceToken(USERS_READ_SCOPE);
    if (typeof caller === 'string') return Promise.resolve(caller);
    const credentials =
      'handshake' in caller ? socketCredentials(caller) : { authorization: caller.headers.authorization, cookie: caller.headers.cookie };
    return presentedAccessToken(this.client, credentials);
  }

  private async call<T>(method: string, path: string, options: CallOptions, body?: unknown): Promise<T> {
    const response = await this.client.fetch(`${this.client.options.serverUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.tokenOf(options.as)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const answer = parsedJson(text);
    if (!response.ok) throw UserApiError.fromProblem(response.status, answer);
    return answer as T;
  }
}

/** A body as JSON; undefined when empty or not JSON (a proxy's error page): the status then speaks alone. */
function parsedJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function userPath(id: string): string {
  return `/users/${encodeURIComponent(id)}`;
}
