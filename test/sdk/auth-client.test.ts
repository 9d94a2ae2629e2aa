import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { AuthError, createAuthClient, fromEnv, MemoryStore, type AuthClient, type KeyValueStore } from '../../src/sdk/index.js';
import { addAccount, addInstance, codeFlow, countRequests, sdkClientFor, startTestServer, type TestServer } from './support/sdk-server.js';

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AuthError);
    return error as AuthError;
  }
  throw new Error('expected a rejection');
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('sdk: AuthClient against a real provider', function () {
  let server: TestServer;
  let auth: AuthClient;
  let clientId: string;
  let oidcClient: oidc.Configuration;
  let accessToken: string;
  let requests: Map<string, number>;

  before(async function () {
    server = await startTestServer('sqlite');
    requests = countRequests(server);
    await addAccount(server, 'alice');
    ({ auth, oidcClient, instance: { clientId } } = await sdkClientFor(server));
    accessToken = (await codeFlow(oidcClient, { username: 'alice' })).tokens.access_token;
  });
  after(async function () {
    auth.close();
    await server.close();
  });

  it('verifies an access token offline and maps it to the ChillFi3 user shape', async function () {
    const { user, claims, checkedBy } = await auth.verifyAccessToken(accessToken);
    expect(checkedBy).to.equal('offline');
    expect(claims.aud).to.equal(clientId);
    expect(user).to.include({ id: null, username: 'alice', display_name: 'alice display', is_admin: false, role: 'member', source: 'auth-server' });
    expect(user.sub).to.be.a('string');
    expect(user.sid).to.be.a('string');
    expect(user).to.include({ acr: 'pwd' });
    expect(user.amr).to.deep.equal(['pwd']);
    expect(Object.keys(user)).to.have.members(['id', 'sub', 'username', 'display_name', 'is_admin', 'role', 'sid', 'amr', 'acr', 'source']);
  });

  it('refuses a token issued for another instance (wrong audience)', async function () {
    const other = await addInstance(server);
    const foreign = (await codeFlow(other.client, { username: 'alice' })).tokens.access_token;
    const error = await rejection(auth.verifyAccessToken(foreign));
    expect(error.code).to.equal('invalid_token');
    expect(error.status).to.equal(403);
    expect(error.message).to.match(/aud/);
  });

  it('refuses an expired token signed with the real key', async function () {
    const header = decodeProtectedHeader(accessToken);
    const jwk = (await server.services.keys.privateJwks()).find((key) => key.kid === header.kid);
    expect(jwk, "the signing key").to.not.equal(undefined);
    const key = await importJWK(jwk as JWK, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...decodeJwt(accessToken), iat: now - 1000, exp: now - 60 })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid as string })
      .sign(key);
    const error = await rejection(auth.verifyAccessToken(expired));
    expect(error.code).to.equal('invalid_token');
    expect(error.message).to.match(/exp/);
    // The same claims with a fresh exp pass: the refusal above is the expiry, not the signature.
    const fresh = await new SignJWT({ ...decodeJwt(accessToken), iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid as string })
      .sign(key);
    expect((await auth.verifyAccessToken(fresh)).user.username).to.equal('alice');
  });

  it('refuses a token without the at+jwt type (e.g. an ID token)', async function () {
    const { tokens } = await codeFlow(oidcClient, { username: 'alice' });
    const error = await rejection(auth.verifyAccessToken(tokens.id_token!));
    expect(error.code).to.equal('invalid_token');
  });

  it('refuses alg none', async function () {
    const [header, payload] = accessToken.split('.');
    const unsigned = `${b64({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), alg: 'none' })}.${payload}.`;
    expect((await rejection(auth.verifyAccessToken(unsigned))).code).to.equal('invalid_token');
  });

  it('refuses HS256 signed with the public key, whatever form the key is given in', async function () {
    const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: JWK[] };
    const payload = decodeJwt(accessToken);
    for (const publicJwk of jwks.keys) {
      const { createPublicKey } = await import('node:crypto');
      const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      for (const secret of [pem, JSON.stringify(publicJwk)]) {
        const forged = await new SignJWT(payload)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: publicJwk.kid as string })
          .sign(new TextEncoder().encode(secret));
        expect((await rejection(auth.verifyAccessToken(forged))).code).to.equal('invalid_token');
      }
    }
  });

  it('refetches the JWKS once for an unknown kid, not again within the cooldown', async function () {
    const fresh = createAuthClient({ ...auth.options, logger: null, jwksCooldownSeconds: 3600 });
    await fresh.verifyAccessToken(accessToken);
    expect(fresh.jwksFetches).to.equal(1);
    const { privateKey } = await generateKeyPair('ES256');
    const payload = decodeJwt(accessToken);
    const rotated = async (kid: string) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);
    // A kid the server does not publish: one refetch (a rotation would have been picked up by it), then refused.
    expect((await rejection(fresh.verifyAccessToken(await rotated('rotated-1')))).code).to.equal('invalid_token');
    expect(fresh.jwksFetches).to.equal(2);
    // Within the cooldown, unknown kids cause no further fetch (no amplification towards the auth server).
    expect((await rejection(fresh.verifyAccessToken(await rotated('rotated-2')))).code).to.equal('invalid_token');
    expect(fresh.jwksFetches).to.equal(2);
    // Known keys keep working from the cache.
    await fresh.verifyAccessToken(accessToken);
    expect(fresh.jwksFetches).to.equal(2);
  });

  it('picks up a rotated key by refetching on its unknown kid', async function () {
    // Rotation seen from the SDK: the client cached a key set without the new key, the server now signs with it.
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const newJwk = { ...(await exportJWK(publicKey)), kid: 'next-key', alg: 'ES256', use: 'sig' };
    const published = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: JWK[] };
    let rotatedIn = false;
    const client = createAuthClient({ ...auth.options, logger: null, jwksCooldownSeconds: 0 });
    const realFetch = client.fetch;
    // The server's JWKS plus, once rotated in, the new key: the response the SDK would get from a rotated server.
    (client as { fetch: typeof realFetch }).fetch = async (url, init) => {
      if (String(url).endsWith('/jwks')) {
        return Response.json({ keys: rotatedIn ? [...published.keys, newJwk] : published.keys });
      }
      return realFetch(url, init);
    };
    await client.verifyAccessToken(accessToken);
    rotatedIn = true;
    const signed = await new SignJWT(decodeJwt(accessToken)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'next-key' }).sign(privateKey);
    expect((await client.verifyAccessToken(signed)).user.username).to.equal('alice');
    expect(client.jwksFetches).to.equal(2);
  });

  it('introspects, caches for min(exp, AUTH_CACHE_TTL), and sees revocation once the entry expires', async function () {
    const ttls: number[] = [];
    const memory = new MemoryStore();
    const store: KeyValueStore = {
      get: (key) => memory.get(key),
      set: (key, value, ttlMs) => {
        if (key.startsWith('introspection:')) ttls.push(ttlMs);
        return memory.set(key, value, ttlMs);
      },
      add: (key, value, ttlMs) => memory.add(key, value, ttlMs),
      delete: (key) => memory.delete(key),
    };
    const client = createAuthClient({ ...auth.options, logger: null, store, cacheTtlSeconds: 1 });
    const { tokens } = await codeFlow(oidcClient, { username: 'alice' });
    const before = requests.get('POST /token/introspection') ?? 0;
    expect((await client.validateToken(tokens.access_token)).checkedBy).to.equal('introspection');
    expect((await client.validateToken(tokens.access_token)).checkedBy).to.equal('introspection');
    expect((requests.get('POST /token/introspection') ?? 0) - before).to.equal(1);
    expect(ttls).to.have.length(1);
    expect(ttls[0]).to.be.at.most(1000);

    await oidc.tokenRevocation(oidcClient, tokens.access_token);
    // Cached: still active within the bound...
    await client.validateToken(tokens.access_token);
    // ...live introspection sees the revocation at once...
    expect((await rejection(client.validateToken(tokens.access_token, { policy: 'introspect' }))).code).to.equal('inactive_token');
    // ...and the cached policy sees it once the entry has expired.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await rejection(client.validateToken(tokens.access_token))).code).to.equal('inactive_token');
    // offline policy does not ask the server
    expect((await client.validateToken(tokens.access_token, { policy: 'offline' })).checkedBy).to.equal('offline');
  });

  it('bounds cache entries by the token expiry when it is sooner than AUTH_CACHE_TTL', async function () {
    const ttls: number[] = [];
    const memory = new MemoryStore();
    const store: KeyValueStore = {
      get: (key) => memory.get(key),
      set: (key, value, ttlMs) => (ttls.push(ttlMs), memory.set(key, value, ttlMs)),
      add: (key, value, ttlMs) => memory.add(key, value, ttlMs),
      delete: (key) => memory.delete(key),
    };
    const client = createAuthClient({ ...auth.options, logger: null, store, cacheTtlSeconds: 86_400 });
    const exp = decodeJwt(accessToken).exp!;
    await client.introspect(accessToken);
    expect(ttls[0]).to.be.at.most(exp * 1000 - Date.now() + 50).and.above(0);
  });

  it('getServiceToken: N concurrent callers, one token request, then reused', async function () {
    const client = createAuthClient({ ...auth.options, logger: null });
    await client.discover();
    const before = requests.get('POST /token') ?? 0;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getServiceToken()));
    expect(new Set(tokens).size).to.equal(1);
    expect(await client.getServiceToken()).to.equal(tokens[0]);
    expect((requests.get('POST /token') ?? 0) - before).to.equal(1);
    expect(decodeJwt(tokens[0]!)).to.include({ sub: clientId, aud: clientId });
  });

  it('refreshes a browser session once however many requests need it (rotating refresh tokens survive)', async function () {
    const { tokens } = await codeFlow(oidcClient, { username: 'alice' });
    const session = await auth.sessions.create(tokens);
    // Make the access token due for refresh.
    const key = `session:${createHash('sha256').update(session.id).digest('base64url')}`;
    await auth.store.set(key, JSON.stringify({ ...session, expiresAt: Date.now() }), 60_000);
    const before = requests.get('POST /token') ?? 0;
    const results = await Promise.all(Array.from({ length: 25 }, () => auth.sessions.current(session.id)));
    expect((requests.get('POST /token') ?? 0) - before).to.equal(1);
    const accessTokens = new Set(results.map((result) => result?.accessToken));
    expect(accessTokens.size).to.equal(1);
    const refreshed = results[0]!;
    expect(refreshed.accessToken).to.not.equal(session.accessToken);
    expect(refreshed.refreshToken).to.not.equal(session.refreshToken);
    // The grant is intact (a double refresh would have revoked it): the new token introspects active.
    expect((await auth.validateToken(refreshed.accessToken, { policy: 'introspect' })).user.username).to.equal('alice');
  });

  it('fromEnv reads AUTH_* variables and refuses a missing one', function () {
    const client = fromEnv({
      AUTH_SERVER_URL: server.issuer,
      AUTH_API_KEY: clientId,
      AUTH_API_SECRET: 'secret',
      AUTH_CACHE_TTL: '60',
      AUTH_TIMEOUT: '2500',
    }, { logger: null });
    expect(client.options).to.include({ cacheTtlSeconds: 60, timeoutMs: 2500, clientId, policy: 'introspect-cached', allowInsecureHttp: true });
    expect(() => fromEnv({ AUTH_SERVER_URL: server.issuer })).to.throw(/AUTH_API_KEY, AUTH_API_SECRET/);
    expect(() => fromEnv({ AUTH_SERVER_URL: 'http://auth.example.com', AUTH_API_KEY: 'a', AUTH_API_SECRET: 'b' })).to.throw(/https/);
    expect(() => createAuthClient({ serverUrl: server.issuer, clientId, clientSecret: 'x', algorithms: ['HS256'] })).to.throw(/never/);
  });
});
