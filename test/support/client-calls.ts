// One instance calling the client endpoints with its secret (HTTP Basic), for tests that load or break the server and
// count what it answers meanwhile.
import { expect } from 'chai';
import { basicAuth } from './fixtures.js';

export interface ClientCalls {
  /** A form POST to `path` as the instance. */
  tokenEndpoint(path: string, form: Record<string, string>): Promise<Response>;
  /** Introspection that must answer 200. */
  introspect(token: string): Promise<{ active: boolean }>;
  /** A client_credentials token that must be issued. */
  clientToken(): Promise<string>;
}

/** The calls of the instance `caller()` names at the time of each call (tests set server and secret in `before`). */
export function clientCalls(caller: () => { url: string; clientId: string; secret: string }): ClientCalls {
  function tokenEndpoint(path: string, form: Record<string, string>): Promise<Response> {
    const { url, clientId, secret } = caller();
    return fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form),
    });
  }
  return {
    tokenEndpoint,
    async introspect(token) {
      const response = await tokenEndpoint('/token/introspection', { token });
      expect(response.status).to.equal(200);
      return (await response.json()) as { active: boolean };
    },
    async clientToken() {
      const response = await tokenEndpoint('/token', { grant_type: 'client_credentials' });
      expect(response.status).to.equal(200);
      return ((await response.json()) as { access_token: string }).access_token;
    },
  };
}
