// The instance's own access tokens (client_credentials), for its calls to the auth server's API: one per scope asked
// for ('' for the server's default), each reused until shortly before it expires.
import * as oidc from 'openid-client';
import type { AuthServerConnection } from './auth-server-connection.js';
import { AuthError, messageOf } from './errors.js';

interface Held {
  current?: { value: string; renewAt: number };
  inflight?: Promise<string>;
}

export class ServiceToken {
  private readonly byScope = new Map<string, Held>();

  constructor(private readonly connection: AuthServerConnection) {}

  /** The token for `scope`, reused until shortly before it expires; concurrent callers share one request. */
  async get(scope = ''): Promise<string> {
    let held = this.byScope.get(scope);
    if (!held) this.byScope.set(scope, (held = {}));
    if (held.current && held.current.renewAt > Date.now()) return held.current.value;
    held.inflight ??= this.request(held, scope);
    return held.inflight;
  }

  private async request(held: Held, scope: string): Promise<string> {
    try {
      const configuration = this.connection.configuration ?? (await this.connection.discover());
      this.connection.requests.serviceToken++;
      const response = await oidc.clientCredentialsGrant(configuration, scope ? { scope } : {});
      const lifetimeMs = (response.expires_in ?? 60) * 1000;
      held.current = { value: response.access_token, renewAt: Date.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 10) };
      return response.access_token;
    } catch (cause) {
      if (cause instanceof AuthError) throw cause;
      throw new AuthError('auth_unavailable', `no service token: ${messageOf(cause)}`, { cause });
    } finally {
      held.inflight = undefined;
    }
  }
}
