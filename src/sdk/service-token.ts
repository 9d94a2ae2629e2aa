// The instance's own access token (client_credentials), for its calls to the auth server's API.
import * as oidc from 'openid-client';
import type { AuthServerConnection } from './auth-server-connection.js';
import { AuthError, messageOf } from './errors.js';

export class ServiceToken {
  private current: { value: string; renewAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly connection: AuthServerConnection) {}

  /** The token, reused until shortly before it expires; concurrent callers share one request. */
  async get(): Promise<string> {
    if (this.current && this.current.renewAt > Date.now()) return this.current.value;
    this.inflight ??= (async () => {
      try {
        const configuration = this.connection.configuration ?? (await this.connection.discover());
        this.connection.requests.serviceToken++;
        const response = await oidc.clientCredentialsGrant(configuration);
        const lifetimeMs = (response.expires_in ?? 60) * 1000;
        this.current = { value: response.access_token, renewAt: Date.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 10) };
        return response.access_token;
      } catch (cause) {
        if (cause instanceof AuthError) throw cause;
        throw new AuthError('auth_unavailable', `no service token: ${messageOf(cause)}`, { cause });
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
