import { randomInt, randomUUID, type webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';
import * as oidc from 'openid-client';
import type { NewInstance } from '../../src/instances/instance-store.js';
import type { TestServer } from './test-server.js';
import { BrowserAgent, type Page } from './browser-agent.js';

export const PASSWORD = 'correct horse battery staple';
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export async function addAccount(server: TestServer, username: string, extra: { isAdmin?: boolean; email?: string } = {}) {
  const { accounts, hasher } = server.services;
  return accounts.create({ username, passwordHash: await hasher.hash(PASSWORD), displayName: `${username} display`, ...extra });
}

export async function addInstance(server: TestServer, input: Partial<NewInstance> = {}) {
  const { instance, clientSecret } = await server.services.instances.create({
    name: `Test instance ${randomUUID()}`,
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: ['http://127.0.0.1:9/signed-out'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    skipConsent: true,
    ...input,
  });
  const client = await oidc.discovery(new URL(server.issuer), instance.clientId, clientSecret ?? undefined, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  return { instance, clientSecret: clientSecret as string, client };
}

export interface SignedIn {
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  agent: BrowserAgent;
}

/** A fresh authorization request with PKCE (S256) and state, as an instance starts one. */
export async function authorizationRequest(client: oidc.Configuration, scope = 'openid profile email') {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(client, {
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { url: url.toString(), verifier, state };
}

/** A fresh authorization request's sign-in page, in `agent` (a browser of its own by default). */
export async function openLoginPage(client: oidc.Configuration, agent = new BrowserAgent()): Promise<{ page: Page; agent: BrowserAgent }> {
  const { url } = await authorizationRequest(client, 'openid profile');
  return { page: await agent.open(url, {}, REDIRECT_URI), agent };
}

/**
 * A fresh address in 198.18.0.0/15 (the benchmarking range), for a test that speaks through a trusted proxy:
 * per-address counters live in the shared Redis for their whole window, so each test uses addresses no run has used.
 */
export function freshAddress(): string {
  return `198.${18 + randomInt(2)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

/** Runs the authorization code flow with PKCE as a browser would, signing in with the password if asked. */
export async function codeFlow(
  client: oidc.Configuration,
  { agent = new BrowserAgent(), username, password = PASSWORD, scope = 'openid profile email' }: {
    agent?: BrowserAgent;
    username?: string;
    password?: string;
    scope?: string;
  },
): Promise<SignedIn> {
  const { url, verifier, state } = await authorizationRequest(client, scope);
  let page = await agent.open(url, {}, REDIRECT_URI);
  if (page.status !== 0 && username) page = await agent.signIn(page, username, password, REDIRECT_URI);
  if (page.status !== 0) throw new Error(`sign-in did not reach the instance: ${page.status} ${page.url}\n${page.body.slice(0, 500)}`);
  const tokens = await oidc.authorizationCodeGrant(client, new URL(page.url), { pkceCodeVerifier: verifier, expectedState: state });
  return { tokens, agent };
}

/** An Authorization header for client_secret_basic (RFC 6749 §2.3.1). */
export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/**
 * A fresh client assertion for the token endpoint: client_secret_jwt (HS256 over the client secret, given as a string)
 * or private_key_jwt (signed with a private key, given with its `alg` and `kid`).
 */
export function clientAssertion(
  server: TestServer,
  clientId: string,
  key: string | webcrypto.CryptoKey,
  header: { alg: string; kid?: string } = { alg: 'HS256' },
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(server.issuer)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/** A client_credentials request authenticated by a client assertion. */
export function clientCredentialsWithAssertion(server: TestServer, assertion: string): Promise<Response> {
  return fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
}

export interface IssuedCode {
  code: string;
  verifier: string;
}

/** Signs in at the authorization endpoint as a browser would, stopping at the redirect: a code not yet redeemed. */
export async function issueCode(
  client: oidc.Configuration,
  { username, scope = 'openid profile email' }: { username: string; scope?: string },
): Promise<IssuedCode> {
  const agent = new BrowserAgent();
  const { url, verifier } = await authorizationRequest(client, scope);
  const page = await agent.signIn(await agent.open(url, {}, REDIRECT_URI), username, PASSWORD, REDIRECT_URI);
  const code = new URL(page.url).searchParams.get('code');
  if (page.status !== 0 || !code) throw new Error(`sign-in did not reach the instance: ${page.status} ${page.url}`);
  return { code, verifier };
}
