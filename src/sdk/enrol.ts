// Enrolment: a new ChillFi3 server registers itself at the auth server (RFC 7591) with the one-time enrolment token an
// admin made, and gets the values its .env needs. The metadata is what ChillFi3 uses: the three grants, and the URIs of
// its browser routes (src/sdk/browser-routes.ts) on its own address.
import { AuthError, messageOf } from './errors.js';

export interface EnrolOptions {
  /** The auth server's URL (its issuer). */
  serverUrl: string;
  /** The enrolment token an admin made (console "Enrol a ChillFi3 server", or `chillfi3-auth instances enrollment-token`). */
  token: string;
  /** Where the instance's users open it, e.g. https://music.example. */
  instanceUrl: string;
  /** The name users see; default the instance's host name (an admin may have fixed it in the token). */
  name?: string;
  /** Where the SDK's browser routes live on the instance. Default '/auth'. */
  routePrefix?: string;
  /** Milliseconds before a call is abandoned. Default 10000. */
  timeoutMs?: number;
}

/** What the auth server answered: the instance's credentials, and how it reads and updates its registration later. */
export interface Enrolment {
  serverUrl: string;
  clientId: string;
  clientSecret: string;
  clientName: string;
  /** RFC 7592: read, update or remove the registration with this at registrationClientUri. */
  registrationAccessToken: string;
  registrationClientUri: string;
}

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

/** An https URL, or http on loopback (development), as its origin and path without a trailing slash. */
function baseUrl(value: string, what: string): { url: URL; base: string } {
  const url = URL.parse(value);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url)))) {
    throw new AuthError('configuration', `${what} must be an https URL (or http on localhost): "${value}"`);
  }
  return { url, base: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

async function getJson(url: string, init: RequestInit, timeoutMs: number): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new AuthError('auth_unavailable', `cannot reach ${url}: ${messageOf(cause)}`, { cause });
  }
  const text = await response.text();
  try {
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    throw new AuthError('auth_unavailable', `${url} answered ${response.status} with something that is not JSON`);
  }
}

/** The client metadata ChillFi3 registers with (RFC 7591). */
export function chillfi3Metadata(instanceUrl: string, name: string | undefined, routePrefix = '/auth'): Record<string, unknown> {
  const { url, base } = baseUrl(instanceUrl, 'the instance URL');
  const at = (path: string) => `${base}${path}`;
  return {
    client_name: name ?? url.hostname,
    redirect_uris: [at(`${routePrefix}/callback`)],
    post_logout_redirect_uris: [at('/')],
    // The auth server posts logout tokens only to https (it never calls a loopback address an instance gave it).
    ...(url.protocol === 'https:' ? { backchannel_logout_uri: at(`${routePrefix}/backchannel-logout`) } : {}),
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid profile email offline_access',
  };
}

/** Registers the instance; refused (a used, expired or withdrawn token, metadata the server does not allow): enrolment_refused. */
export async function enrol(options: EnrolOptions): Promise<Enrolment> {
  const server = baseUrl(options.serverUrl, 'the auth server URL').base;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const discovery = await getJson(`${server}/.well-known/openid-configuration`, {}, timeoutMs);
  const endpoint = discovery.body.registration_endpoint;
  if (discovery.status !== 200 || typeof endpoint !== 'string') {
    throw new AuthError('configuration', `${server} offers no registration endpoint (is it a chillfi3-auth server?)`);
  }
  const answer = await getJson(
    endpoint,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(chillfi3Metadata(options.instanceUrl, options.name, options.routePrefix)),
    },
    timeoutMs,
  );
  if (answer.status !== 201) {
    const { error, error_description: description } = answer.body;
    const why = error === 'invalid_token' ? 'the enrolment token is not valid: unknown, used, expired or withdrawn (ask an admin for a new one)' : String(description ?? error ?? `status ${answer.status}`);
    throw new AuthError(answer.status >= 500 ? 'auth_unavailable' : 'enrolment_refused', `the auth server refused the registration: ${why}`);
  }
  const body = answer.body;
  for (const field of ['client_id', 'client_secret', 'registration_access_token', 'registration_client_uri'] as const) {
    if (typeof body[field] !== 'string') throw new AuthError('auth_unavailable', `the registration answer has no ${field}`);
  }
  return {
    serverUrl: typeof discovery.body.issuer === 'string' ? discovery.body.issuer : server,
    clientId: body.client_id as string,
    clientSecret: body.client_secret as string,
    clientName: String(body.client_name ?? ''),
    registrationAccessToken: body.registration_access_token as string,
    registrationClientUri: body.registration_client_uri as string,
  };
}

/** The .env lines of an enrolled instance: what optionsFromEnv() reads, and its registration's management token. */
export function enrolmentEnv(enrolment: Enrolment): string[] {
  return [
    `# chillfi3-auth: enrolled as "${enrolment.clientName}"`,
    `AUTH_SERVER_URL=${enrolment.serverUrl}`,
    `AUTH_API_KEY=${enrolment.clientId}`,
    `AUTH_API_SECRET=${enrolment.clientSecret}`,
    '# the rollout switch (docs/chillfi3.md): true signs users in at the auth server; false keeps the old local tokens',
    'USE_REMOTE_AUTH=true',
    'AUTH_REVOCATION_STREAM=on',
    '# reads or updates this registration (RFC 7592) at the URI below; keep it as secret as AUTH_API_SECRET',
    `AUTH_REGISTRATION_URI=${enrolment.registrationClientUri}`,
    `AUTH_REGISTRATION_TOKEN=${enrolment.registrationAccessToken}`,
  ];
}
