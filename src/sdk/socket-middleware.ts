// Socket.IO middleware (io.use): reads socket.handshake.auth.token or the session cookie, sets socket.authenticated
// and socket.user, lets anonymous sockets through unless required, and disconnects the sockets of a session that
// ends: at once on back-channel logout, and within revalidateIntervalMs on revocation. Every socket answers
// WHOAMI_EVENT with who it is, both to an acknowledgement callback and as an event of the same name (ChillFi3's client
// listens for the event). Needs no socket.io import.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthClient } from './auth-client.js';
import type { SessionEnd } from './session-ends.js';
import type { AuthUser } from './auth-user.js';
import { AuthError, isUnreachable } from './errors.js';
import { authenticateCredentials, socketCredentials, type Credentials, type MiddlewareOptions } from './request-auth.js';

/** The part of a Socket.IO server socket the middleware uses. */
export interface SocketLike {
  id: string;
  handshake: { auth: Record<string, unknown>; headers: IncomingHttpHeaders };
  authenticated?: boolean;
  user?: AuthUser | null;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(close?: boolean): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
  on(event: typeof WHOAMI_EVENT, listener: (reply: unknown) => void): unknown;
}

export interface SocketMiddlewareOptions extends MiddlewareOptions {
  /** Refuse the connection (connect_error) without valid credentials. Default false: anonymous sockets pass. */
  required?: boolean;
  /** How often connected sockets are checked again (revocation, expiry), ms. Default 60000; 0 disables. */
  revalidateIntervalMs?: number;
}

/** Emitted to a socket just before it is disconnected because its session ended. */
export const SESSION_ENDED_EVENT = 'auth:session-ended';

/**
 * Asked by a client with an acknowledgement callback, `socket.emit('auth:me', ({ authenticated, user }) => …)`, or
 * without one, `socket.on('auth:me', …); socket.emit('auth:me')`: the answer comes back as an event of the same name.
 */
export const WHOAMI_EVENT = 'auth:me';

/** The answer to WHOAMI_EVENT: the socket's state now (null once its session has ended). */
export function whoAmI(socket: SocketLike): { authenticated: boolean; user: AuthUser | null } {
  return { authenticated: socket.authenticated === true, user: socket.user ?? null };
}

interface Tracked {
  socket: SocketLike;
  user: AuthUser;
  credentials: Credentials;
}

export class SocketTracker {
  private readonly sockets = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: AuthClient,
    private readonly options: SocketMiddlewareOptions,
  ) {
    client.on('session-ended', (ended: SessionEnd) => this.endSession(ended));
    const interval = options.revalidateIntervalMs ?? 60_000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.revalidate(), interval);
      this.timer.unref();
    }
  }

  get size(): number {
    return this.sockets.size;
  }

  track(socket: SocketLike, user: AuthUser, credentials: Credentials): void {
    this.sockets.set(socket.id, { socket, user, credentials });
    socket.once('disconnect', () => this.sockets.delete(socket.id));
  }

  /** Disconnects the sockets of an ended session (by sid, or every socket of the sub when no sid is given). */
  endSession(ended: SessionEnd): void {
    for (const tracked of this.sockets.values()) {
      const matches = ended.sid ? tracked.user.sid === ended.sid : tracked.user.sub === ended.sub;
      if (matches) this.drop(tracked, 'signed out');
    }
  }

  /** Checks every tracked socket's credentials again; drops those no longer valid (unreachable server: kept). */
  async revalidate(): Promise<void> {
    await Promise.all(
      [...this.sockets.values()].map(async (tracked) => {
        try {
          await authenticateCredentials(this.client, tracked.credentials, this.options);
        } catch (error) {
          if (!isUnreachable(error)) this.drop(tracked, error instanceof AuthError ? error.code : 'invalid');
        }
      }),
    );
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private drop(tracked: Tracked, reason: string): void {
    this.sockets.delete(tracked.socket.id);
    tracked.socket.authenticated = false;
    tracked.socket.user = null;
    tracked.socket.emit(SESSION_ENDED_EVENT, { reason });
    tracked.socket.disconnect(true);
  }
}

export type SocketMiddleware = ((socket: SocketLike, next: (error?: Error) => void) => void) & { tracker: SocketTracker };

export function socketMiddleware(client: AuthClient, options: SocketMiddlewareOptions = {}): SocketMiddleware {
  const tracker = new SocketTracker(client, options);
  const middleware = function chillfi3AuthenticateSocket(socket: SocketLike, next: (error?: Error) => void): void {
    const credentials = socketCredentials(socket);
    socket.on(WHOAMI_EVENT, function answerWhoAmI(reply) {
      if (typeof reply === 'function') reply(whoAmI(socket));
      else socket.emit(WHOAMI_EVENT, whoAmI(socket));
    });
    authenticateCredentials(client, credentials, options).then(
      (verified) => {
        socket.authenticated = true;
        socket.user = verified.user;
        tracker.track(socket, verified.user, credentials);
        next();
      },
      (error: unknown) => {
        socket.authenticated = false;
        socket.user = null;
        if (!options.required) {
          next();
          return;
        }
        const authError = error instanceof AuthError ? error : new AuthError('auth_unavailable', 'authentication failed', { cause: error });
        next(Object.assign(new Error(authError.message), { data: { error: authError.code, status: authError.status } }));
      },
    );
  };
  return Object.assign(middleware, { tracker });
}
