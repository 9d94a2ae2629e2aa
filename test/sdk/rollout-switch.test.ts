// The plan's rollout switch: USE_REMOTE_AUTH=false keeps an instance on its own HS256 tokens and asks nothing of the
// auth server (phase 1); true uses the auth server, with the old tokens accepted while AUTH_LEGACY_TOKENS allows
// (`on`, or until a date), then not at all (phase 2 done). Bad values are refused at start, plainly.
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { AuthError, fromEnv, optionsFromEnv, type AuthClient } from '../../src/sdk/index.js';
import { addAccount, codeFlow, countRequests, sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';

const JWT_SECRET = 'the-instance-jwt-secret-of-at-least-32-bytes';

function legacyToken(): Promise<string> {
  return new SignJWT({ userId: 7, username: 'carol', isAdmin: 1 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('7d')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

async function outcome(auth: AuthClient, token: string): Promise<string> {
  try {
    return (await auth.validateToken(token)).checkedBy;
  } catch (error) {
    return (error as AuthError).code;
  }
}

describe('sdk: the rollout switch (USE_REMOTE_AUTH, AUTH_LEGACY_TOKENS)', function () {
  let server: TestServer;
  let env: Record<string, string>;
  let serverToken: string;
  const clients: AuthClient[] = [];

  before(async function () {
    server = await startTestServer('sqlite');
    const { auth, instance, clientSecret, oidcClient } = await sdkClientFor(server);
    auth.close();
    await addAccount(server, 'carol');
    serverToken = (await codeFlow(oidcClient, { username: 'carol' })).tokens.access_token;
    env = { AUTH_SERVER_URL: server.issuer, AUTH_API_KEY: instance.clientId, AUTH_API_SECRET: clientSecret, JWT_SECRET };
  });
  after(async function () {
    for (const auth of clients) auth.close();
    await server.close();
  });

  function client(extra: Record<string, string | undefined>): AuthClient {
    const auth = fromEnv({ ...env, ...extra }, { logger: null });
    clients.push(auth);
    return auth;
  }

  it('false (phase 1): its own tokens only, nothing asked of the auth server, whose settings may be unset', async function () {
    const requests = countRequests(server);
    const auth = client({ USE_REMOTE_AUTH: 'false' });
    expect(await outcome(auth, await legacyToken())).to.equal('legacy');
    expect(await outcome(auth, serverToken)).to.equal('invalid_token');
    const refused = await auth.getServiceToken().catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(AuthError).and.include({ code: 'configuration' });
    expect([...requests.values()].reduce((sum, count) => sum + count, 0), 'requests to the auth server').to.equal(0);

    const bare = fromEnv({ USE_REMOTE_AUTH: 'false', JWT_SECRET }, { logger: null });
    clients.push(bare);
    expect(await outcome(bare, await legacyToken())).to.equal('legacy');
  });

  it('true with AUTH_LEGACY_TOKENS=on (phase 2): both kinds; then unset or off: the auth server only', async function () {
    const both = client({ USE_REMOTE_AUTH: 'true', AUTH_LEGACY_TOKENS: 'on' });
    expect(await outcome(both, await legacyToken())).to.equal('legacy');
    expect(await outcome(both, serverToken)).to.equal('introspection');
    for (const legacy of [undefined, 'off']) {
      const remote = client({ AUTH_LEGACY_TOKENS: legacy });
      expect(await outcome(remote, await legacyToken()), `AUTH_LEGACY_TOKENS=${legacy}`).to.equal('invalid_token');
      expect(await outcome(remote, serverToken)).to.equal('introspection');
    }
  });

  it('AUTH_LEGACY_TOKENS as a date: the old tokens until then, not after', async function () {
    const until = client({ AUTH_LEGACY_TOKENS: new Date(Date.now() + 3_600_000).toISOString() });
    expect(await outcome(until, await legacyToken())).to.equal('legacy');
    const past = client({ AUTH_LEGACY_TOKENS: new Date(Date.now() - 1000).toISOString() });
    expect(await outcome(past, await legacyToken())).to.equal('invalid_token');
    expect(await outcome(past, serverToken)).to.equal('introspection');
  });

  it('refuses bad values and missing secrets at start, saying which', function () {
    const refusal = (extra: Record<string, string | undefined>) => {
      try {
        optionsFromEnv({ ...env, ...extra });
        return null;
      } catch (error) {
        return (error as AuthError).message;
      }
    };
    expect(refusal({ USE_REMOTE_AUTH: 'yes' })).to.include('USE_REMOTE_AUTH must be "true" or "false"');
    expect(refusal({ AUTH_LEGACY_TOKENS: 'soon' })).to.include('AUTH_LEGACY_TOKENS must be');
    expect(refusal({ USE_REMOTE_AUTH: 'false', JWT_SECRET: undefined })).to.include('JWT_SECRET');
    expect(refusal({ AUTH_LEGACY_TOKENS: 'on', JWT_SECRET: undefined })).to.include('JWT_SECRET');
    expect(refusal({ USE_REMOTE_AUTH: 'true', AUTH_API_KEY: undefined })).to.include('AUTH_API_KEY');
  });
});
