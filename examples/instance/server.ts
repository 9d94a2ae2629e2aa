// A small ChillFi3-like instance (Express + Socket.IO) that authenticates only through chillfi3-auth/sdk:
// a page showing who is signed in, a protected JSON API, a protected socket event, and the SDK's sign-in routes.
// Like ChillFi3 it keeps its own users table (numeric ids, foreign keys): resolveUser gives every signed-in user their
// local row, and "my items" are found by req.user.id.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Server as SocketServer } from 'socket.io';
// In a ChillFi3 server this is: const { createAuthClient } = require('chillfi3-auth/sdk');
import {
  createAuthClient,
  requireMfa,
  resolveLocalUsers,
  sessionIdFrom,
  type AuthClient,
  type AuthenticatedRequest,
  type AuthUser,
  type ValidationPolicy,
} from '../../src/sdk/index.js';
import { InstanceDatabase } from './instance-database.js';

export interface InstanceOptions {
  /** Port to listen on. 0 picks a free one. */
  port: number;
  /** Address to bind. Default 127.0.0.1; 0.0.0.0 in a container, whose port is published from outside. */
  host?: string;
  /** The URL browsers reach this instance at, when it is not http://127.0.0.1:<port> (behind a published port). */
  publicUrl?: string;
  authServerUrl: string;
  clientId: string;
  clientSecret: string;
  /** Shown on the page. */
  name?: string;
  /** Default token policy of the API and sockets. Default 'introspect-cached'. */
  policy?: ValidationPolicy;
  /** Adds GET /debug/token (the session's access token) for end-to-end tests. Never in production. */
  exposeTokensForTests?: boolean;
  /** Seconds between reachability probes while the auth server is away. */
  probeIntervalSeconds?: number;
  /** The SQLite file of the instance's users and items. Default: in memory. */
  databaseFile?: string;
}

export interface RunningInstance {
  url: string;
  auth: AuthClient;
  server: HttpServer;
  io: SocketServer;
  db: InstanceDatabase;
  close(): Promise<void>;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(name: string, user: AuthUser | null | undefined, authState: string): string {
  const who = user
    ? `<p>Signed in as <strong id="username">${escapeHtml(user.username)}</strong>, user <span id="user-id">${String(user.id)}</span>` +
      ` (${escapeHtml(user.display_name ?? '')}, ${user.is_admin ? 'admin' : 'member'})</p>` +
      `<form method="post" action="/auth/logout"><button type="submit" id="sign-out">Sign out</button></form>`
    : `<p id="signed-out">Not signed in.</p><p><a id="sign-in" href="/auth/login">Sign in</a></p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(name)}</title></head>
<body data-signed-in="${user ? 'yes' : 'no'}">
<h1>${escapeHtml(name)}</h1>
<div id="who">${who}</div>
<p>Auth server: <span id="auth-state">${escapeHtml(authState)}</span></p>
<p>Socket: <span id="socket-state">connecting</span>, user <span id="socket-user">-</span></p>
<script src="/socket.io/socket.io.js"></script>
<script src="/app.js"></script>
</body></html>`;
}

/** The page's script: connects the socket with the session cookie, asks whoami, shows disconnection. */
const APP_JS = `
const state = document.getElementById('socket-state');
const who = document.getElementById('socket-user');
const socket = io({ withCredentials: true, reconnection: false });
socket.on('connect', () => {
  state.textContent = 'connected';
  socket.emit('whoami', (reply) => { who.textContent = reply.user ? reply.user.username : 'anonymous'; });
});
socket.on('auth:session-ended', () => { who.textContent = 'session ended'; });
socket.on('disconnect', (reason) => { state.textContent = 'disconnected'; document.body.dataset.socketDisconnect = reason; });
`;

export async function startInstance(options: InstanceOptions): Promise<RunningInstance> {
  const name = options.name ?? 'ChillFi3 example';
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const url = options.publicUrl?.replace(/\/+$/, '') ?? `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const db = new InstanceDatabase(options.databaseFile);
  const auth = createAuthClient({
    serverUrl: options.authServerUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    policy: options.policy ?? 'introspect-cached',
    probeIntervalSeconds: options.probeIntervalSeconds ?? 1,
    timeoutMs: 2000,
    logger: null,
    // Cookies are shared by every port of a host: two instances on 127.0.0.1 need distinct cookie names.
    sessionCookieName: `chillfi3_session_${(server.address() as AddressInfo).port}`,
    resolveUser: resolveLocalUsers(db.users),
  });

  const app = express();
  app.disable('x-powered-by');
  // The SDK's sign-in routes: /auth/login, /auth/callback, /auth/logout, /auth/backchannel-logout.
  app.use(auth.browserRoutes({ baseUrl: url }));

  app.get('/', auth.express({ required: false }), (req, res) => {
    res.type('html').send(page(name, (req as AuthenticatedRequest).user, auth.status.state));
  });
  app.get('/app.js', (_req, res) => {
    res.type('application/javascript').send(APP_JS);
  });
  // Protected API, today's contract: 401 without a token, 403 for a bad one, req.user otherwise.
  app.get('/api/me', auth.express(), (req, res) => {
    res.json({ instance: name, user: (req as AuthenticatedRequest).user });
  });
  // An admin-grade action: live introspection, refused (503) rather than trusted offline when the auth server is away.
  app.get('/api/strict', auth.express({ policy: 'introspect', failClosed: true }), (req, res) => {
    res.json({ instance: name, user: (req as AuthenticatedRequest).user });
  });
  // The admin panel: only with a sign-in that had a second factor. requireMfa sends a browser to sign in again with
  // acr_values=mfa (the auth server asks for the factor alone, or walks the user through setting one up) and answers
  // anything else 401 insufficient_user_authentication.
  app.get('/admin', auth.express(), requireMfa(), (req, res) => {
    res.json({ instance: name, admin: true, user: (req as AuthenticatedRequest).user });
  });
  // "My items": ChillFi3's "my songs" and playlists, by the local numeric id.
  app.get('/api/items', auth.express(), (req, res) => {
    res.json({ items: db.itemsOf((req as AuthenticatedRequest).user?.id as number) });
  });
  app.post('/api/items', auth.express(), express.json(), (req, res) => {
    const title = (req.body as { title?: unknown }).title;
    if (typeof title !== 'string' || !title) {
      res.status(400).json({ error: 'title required' });
      return;
    }
    res.status(201).json(db.addItem((req as AuthenticatedRequest).user?.id as number, title));
  });
  app.get('/api/status', (_req, res) => {
    res.json(auth.status);
  });
  if (options.exposeTokensForTests) {
    app.get('/debug/token', async (req, res) => {
      const sessionId = sessionIdFrom(req.headers.cookie, auth.options.sessionCookieName);
      const session = sessionId ? await auth.sessions.current(sessionId) : null;
      res.json({ accessToken: session?.accessToken ?? null });
    });
  }

  server.on('request', app);
  const io = new SocketServer(server);
  io.use(auth.socketIo({ policy: options.policy ?? 'introspect-cached' }) as never);
  io.on('connection', (socket) => {
    const authed = socket as typeof socket & { authenticated?: boolean; user?: AuthUser | null };
    // A protected event: answers only authenticated sockets.
    socket.on('whoami', (reply: (answer: unknown) => void) => {
      if (typeof reply !== 'function') return;
      reply(authed.authenticated ? { user: authed.user } : { error: 'Authentication required', user: null });
    });
  });

  return {
    url,
    auth,
    server,
    io,
    db,
    async close() {
      auth.close();
      io.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
