// A bounded, seeded fuzzer over every endpoint the server answers. Each request starts from one that is valid for
// its endpoint (a registered instance's credentials, live tokens, a signed-in session, open interactions), then a
// few mutations from a seeded PRNG bend its method, path, parameters, body encoding, content type, credentials,
// cookies and headers. Requests go over raw sockets, so anything a client can put on the wire gets through, even
// what fetch refuses to send. Any 5xx, a connection closed without an answer, a timeout or an unhandled rejection is
// a failure; all of them are collected and reported with the request that caused them.
// Reproduce a run with FUZZ_SEED; FUZZ_COUNT and FUZZ_SECONDS bound it (per backend), FUZZ_BACKENDS picks the
// backends (comma-separated; default all three: PostgreSQL alone is where unstorable input reaches SQL most often).
import { expect } from 'chai';
import { connect } from 'node:net';
import { BrowserAgent, hiddenInputs } from '../support/browser-agent.js';
import { addAccount, addInstance, codeFlow, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type Backend, type TestServer } from '../support/test-server.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_130);
const COUNT = Number(process.env.FUZZ_COUNT ?? 4000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 45);
const FUZZ_BACKENDS = (process.env.FUZZ_BACKENDS?.split(',') ?? BACKENDS) as readonly Backend[];
/**
 * Wrong passwords for the live state's account would soon lock it (test deployments already raise the other
 * brute-force limits); the lockout has tests of its own, and here it is raised so that the requests get past it.
 */
/**
 * Lockout off, and each request's store time (AUTH_DB_TIMEOUT_MS, AUTH_REDIS_TIMEOUT_MS: a whole request's wait, counted
 * in wall time) as long as REQUEST_TIMEOUT_MS: on a machine loaded to many times its cores, a request of several store
 * calls may spend longer than the default second and be answered 503, an overload answer this test is not about.
 */
const FUZZ_ENV = { MAX_LOGIN_ATTEMPTS: '1000', AUTH_DB_TIMEOUT_MS: '10000', AUTH_REDIS_TIMEOUT_MS: '10000' };
/** Requests between two refreshes of the live state (mutated requests end interactions, revoke tokens, sign out). */
const BATCH = 150;
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 10_000;

/** Mulberry32: small, fast and seedable, so a failing run is reproduced by its seed. */
class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** Everything live the requests start from; refreshed every BATCH requests. */
interface LiveState {
  port: number;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** An instance that authenticates with client_secret_post and asks for consent. */
  postClientId: string;
  postClientSecret: string;
  accessToken: string;
  refreshToken: string;
  idToken: string;
  sessionCookies: string;
  loginUid: string;
  loginCookies: string;
  resumeCookies: string;
  consentUid: string;
  consentCookies: string;
  logoutXsrf: string;
}

/** A parameter value: text to be percent-encoded, or bytes put on the wire as they are. */
type Value = string | { raw: string };
type Params = [Value, Value][];

interface FuzzRequest {
  id: number;
  endpoint: string;
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer;
}

interface Outcome {
  status?: number;
  head?: string;
  error?: string;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
}

/** Percent-encodes every byte but the unreserved ones: NULs, controls and non-ASCII all reach the server. */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function encodeValue(value: Value): string {
  return typeof value === 'string' ? percentEncode(value) : value.raw;
}

function formOf(params: Params): string {
  return params.map(([name, value]) => `${encodeValue(name)}=${encodeValue(value)}`).join('&');
}

// ---------------------------------------------------------------------------------------------- odd values

const CONTROL_CHARACTERS = Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).concat('\x7f');

const STATIC_ODDITIES: readonly Value[] = [
  '', ' ', '\0', 'a\0b', '\0'.repeat(64), '\r\n', '\r\nSet-Cookie: x=y', '\t', '\u2028', '\uFEFF', '\uFFFF',
  '\uD800', '\uDFFF', '𝔘ñî©ødé', '‮evil', '<script>alert(1)</script>', "' OR 1=1 --", '"', '\\', '%', '..', '../..',
  'null', 'undefined', 'true', '0', '-1', '1e309', 'NaN', 'Infinity', '9'.repeat(400), '__proto__', 'constructor',
  'toString', '{"a":1}', '[]', '{', 'javascript:alert(1)', 'http://evil.example/', '//evil.example', 'http://[::1',
  'file:///etc/passwd', `${REDIRECT_URI}?x=1`, `${REDIRECT_URI}#frag`, 'openid openid openid', 'openid\0profile',
  'code id_token', 'none', 'S256', 'plain', 'client_credentials', 'authorization_code', 'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:request_uri:', 'a.b.c', 'a.b.c.d.e', '...',
  { raw: '%' }, { raw: '%0' }, { raw: '%zz' }, { raw: '%00' }, { raw: '%C0%80' }, { raw: '%ED%A0%80' },
  { raw: '%ED%BF%BF' }, { raw: '%FF%FE' }, { raw: '%F4%90%80%80' }, { raw: '&&==&' }, { raw: '+++' }, { raw: '%2500' },
];

const PARAMETER_NAMES = [
  'client_id', 'client_secret', 'grant_type', 'code', 'refresh_token', 'token', 'token_type_hint', 'redirect_uri',
  'scope', 'response_type', 'response_mode', 'state', 'nonce', 'prompt', 'max_age', 'code_challenge',
  'code_challenge_method', 'code_verifier', 'request', 'request_uri', 'client_assertion', 'client_assertion_type',
  'resource', 'claims', 'acr_values', 'ui_locales', 'login_hint', 'id_token_hint', 'post_logout_redirect_uri',
  'logout', 'xsrf', 'username', 'password', 'access_token', 'audience', 'dpop_jkt', 'authorization_details',
];

/** Malformed and misused JWTs, some built from the live tokens so that only one part is wrong. */
function oddJwt(random: Random, state: LiveState): string {
  const [header = '', payload = '', signature = ''] = state.accessToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const options = [
    () => `${base64url('{"alg":"none","typ":"at+jwt"}')}.${payload}.`,
    () => `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
    () => `${header}.${base64url(JSON.stringify({ ...claims, aud: 'someone-else' }))}.${signature}`,
    () => `${header}.${base64url(JSON.stringify({ ...claims, jti: 'a\0b' }))}.${signature}`,
    () => `${base64url(JSON.stringify({ alg: 'ES256', kid: 'a\0b', typ: 'at+jwt' }))}.${payload}.${signature}`,
    () => `${base64url('{"alg":"HS256","typ":"at+jwt"}')}.${payload}.${signature}`,
    () => `${base64url('not json')}.${payload}.${signature}`,
    () => `${header}.${base64url('[1,2,3]')}.${signature}`,
    () => `${base64url(JSON.stringify({ alg: 'ES256', crit: ['b64'], b64: false }))}.${payload}.${signature}`,
    () => `${base64url(JSON.stringify({ alg: 'RS256', jku: 'http://127.0.0.1:9/jwks', kid: 'x' }))}.${payload}.${signature}`,
    () => `eyJ${'A'.repeat(20_000)}.e30.x`,
    () => `${header}.${payload}`,
    () => `${state.accessToken}.${signature}`,
    () => state.idToken,
    () => `${base64url(JSON.stringify({ alg: 'HS256' }))}.${base64url(JSON.stringify({ iss: 'a\0b', sub: 'a\0b', aud: state.issuer, exp: 9e9 }))}.c2ln`,
    () => `${base64url(JSON.stringify({ alg: 'HS256' }))}.${base64url(JSON.stringify({ iss: state.clientId, sub: state.clientId, aud: state.issuer, exp: 9e9, jti: 'x' }))}.c2ln`,
  ];
  return random.pick(options)();
}

function mutateText(random: Random, text: string): string {
  const at = random.int(text.length + 1);
  switch (random.int(7)) {
    case 0:
      return text.slice(0, at) + random.pick(CONTROL_CHARACTERS) + text.slice(at);
    case 1:
      return text.slice(0, at);
    case 2:
      return text + text;
    case 3:
      return text.toUpperCase();
    case 4:
      return `${text.slice(0, at)}${String.fromCharCode(random.int(0x10000))}${text.slice(at + 1)}`;
    case 5:
      return text.replace(/[A-Za-z]/, (letter) => (letter === 'A' ? 'B' : 'A'));
    default:
      return `${text}${'x'.repeat(random.pick([1, 255, 256, 1000, 5000]))}`;
  }
}

function oddValue(random: Random, state: LiveState): Value {
  const live = [state.clientId, state.clientSecret, state.accessToken, state.refreshToken, state.loginUid, REDIRECT_URI];
  switch (random.int(10)) {
    case 0:
    case 1:
      return random.pick(STATIC_ODDITIES);
    case 2:
      return oddJwt(random, state);
    case 3:
      return mutateText(random, random.pick(live));
    case 4:
      return random.pick(live);
    case 5:
      return Array.from({ length: 1 + random.int(12) }, () => random.pick(CONTROL_CHARACTERS)).join('');
    case 6: {
      // Bytes as they are, most of them not UTF-8.
      const bytes = Array.from({ length: 1 + random.int(24) }, () => random.int(256));
      return { raw: bytes.map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('') };
    }
    case 7:
      return random.pick(['x', '\0', 'é', '𝔘']).repeat(random.pick([256, 300, 2048, 8000, 40_000, 70_000]));
    case 8: {
      // No store can hold a NUL (src/db/storable.ts): the class of input most likely to reach a database unchecked.
      const value = random.pick(live);
      const at = random.int(value.length + 1);
      return `${value.slice(0, at)}\0${value.slice(at)}`;
    }
    default:
      return random.pick(PARAMETER_NAMES);
  }
}

// ---------------------------------------------------------------------------------------------- endpoints

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  path(state: LiveState): string;
  params?(state: LiveState): Params;
  authorization?(state: LiveState): string;
  cookies?(state: LiveState): string;
  accept?: string;
}

function authorizationParams(clientId: string): Params {
  return [
    ['client_id', clientId],
    ['response_type', 'code'],
    ['scope', 'openid profile email offline_access'],
    ['redirect_uri', REDIRECT_URI],
    ['state', 'fuzz-state'],
    ['nonce', 'fuzz-nonce'],
    ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuIq2rcC-qM'],
    ['code_challenge_method', 'S256'],
  ];
}

const clientBasic = (state: LiveState) => basic(state.clientId, state.clientSecret);
const browser = 'text/html,application/xhtml+xml';

const ENDPOINTS: readonly Endpoint[] = [
  { name: 'discovery', method: 'GET', path: () => '/.well-known/openid-configuration' },
  { name: 'jwks', method: 'GET', path: () => '/jwks' },
  { name: 'healthz', method: 'GET', path: () => '/healthz' },
  { name: 'stylesheet', method: 'GET', path: () => '/assets/style.css' },
  { name: 'favicon', method: 'GET', path: () => '/favicon.ico' },
  { name: 'unknown', method: 'GET', path: () => '/admin' },
  { name: 'authorization', method: 'GET', path: () => '/auth', params: (s) => authorizationParams(s.clientId), cookies: (s) => s.sessionCookies, accept: browser },
  { name: 'authorization (POST)', method: 'POST', path: () => '/auth', params: (s) => authorizationParams(s.clientId), cookies: (s) => s.sessionCookies, accept: browser },
  { name: 'authorization resume', method: 'GET', path: (s) => `/auth/${s.loginUid}`, cookies: (s) => s.resumeCookies, accept: browser },
  {
    name: 'token (client_credentials)',
    method: 'POST',
    path: () => '/token',
    params: (s) => [['grant_type', 'client_credentials'], ['resource', `urn:chillfi3:instance:${s.clientId}`], ['scope', 'openid']],
    authorization: clientBasic,
  },
  {
    name: 'token (refresh_token)',
    method: 'POST',
    path: () => '/token',
    params: (s) => [['grant_type', 'refresh_token'], ['refresh_token', s.refreshToken]],
    authorization: clientBasic,
  },
  {
    name: 'token (authorization_code)',
    method: 'POST',
    path: () => '/token',
    params: () => [['grant_type', 'authorization_code'], ['code', 'not-a-code'], ['redirect_uri', REDIRECT_URI], ['code_verifier', 'v'.repeat(43)]],
    authorization: clientBasic,
  },
  {
    name: 'token (client_secret_post)',
    method: 'POST',
    path: () => '/token',
    params: (s) => [['grant_type', 'refresh_token'], ['refresh_token', s.refreshToken], ['client_id', s.postClientId], ['client_secret', s.postClientSecret]],
  },
  {
    name: 'introspection',
    method: 'POST',
    path: () => '/token/introspection',
    params: (s) => [['token', s.accessToken], ['token_type_hint', 'access_token']],
    authorization: clientBasic,
  },
  {
    name: 'revocation',
    method: 'POST',
    path: () => '/token/revocation',
    params: (s) => [['token', s.accessToken], ['token_type_hint', 'access_token']],
    authorization: clientBasic,
  },
  { name: 'pushed authorization request', method: 'POST', path: () => '/request', params: (s) => authorizationParams(s.clientId), authorization: clientBasic },
  { name: 'userinfo', method: 'GET', path: () => '/me', authorization: (s) => `Bearer ${s.accessToken}` },
  { name: 'userinfo (POST)', method: 'POST', path: () => '/me', params: (s) => [['access_token', s.accessToken]] },
  {
    name: 'end session',
    method: 'GET',
    path: () => '/session/end',
    params: (s) => [['client_id', s.clientId], ['id_token_hint', s.idToken], ['post_logout_redirect_uri', 'http://127.0.0.1:9/signed-out'], ['state', 'x']],
    cookies: (s) => s.sessionCookies,
    accept: browser,
  },
  {
    name: 'end session confirm',
    method: 'POST',
    path: () => '/session/end/confirm',
    params: (s) => [['xsrf', s.logoutXsrf], ['logout', 'yes']],
    cookies: (s) => s.sessionCookies,
    accept: browser,
  },
  { name: 'end session success', method: 'GET', path: () => '/session/end/success', cookies: (s) => s.sessionCookies, accept: browser },
  { name: 'interaction', method: 'GET', path: (s) => `/interaction/${s.loginUid}`, cookies: (s) => s.loginCookies, accept: browser },
  {
    name: 'interaction login',
    method: 'POST',
    path: (s) => `/interaction/${s.loginUid}/login`,
    params: () => [['username', 'fuzzer'], ['password', 'wrong password']],
    cookies: (s) => s.loginCookies,
    accept: browser,
  },
  { name: 'interaction confirm', method: 'POST', path: (s) => `/interaction/${s.consentUid}/confirm`, params: () => [], cookies: (s) => s.consentCookies, accept: browser },
  { name: 'interaction abort', method: 'GET', path: (s) => `/interaction/${s.loginUid}/abort`, cookies: (s) => s.loginCookies, accept: browser },
];

// ---------------------------------------------------------------------------------------------- mutations

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'P\0ST', 'X'.repeat(300)];

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=utf-16le', 'application/x-www-form-urlencoded; charset=bogus',
  'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded;;;', 'application/json',
  'application/json; charset=latin1', 'text/plain', 'text/html', 'multipart/form-data',
  'multipart/form-data; boundary=', 'multipart/form-data; boundary=x', 'application/jwt', 'application/xml', '*/*', '',
  ';', 'x'.repeat(2000),
];

const PATH_VARIANTS: ((path: string, random: Random) => string)[] = [
  (path) => `${path}/`,
  (path) => path.toUpperCase(),
  (path) => `/${path}`,
  (path) => path.replace(/\/([^/]*)$/, '/./$1'),
  (path) => `${path}/..`,
  (path) => `${path}%00`,
  (path) => `${path}%zz`,
  (path) => `${path}%2f`,
  (path) => path.replace(/\//g, '%2F'),
  (path) => `${path};x=1`,
  (path) => `${path}/extra/segments`,
  (path) => `${path}%ED%A0%80`,
  (path) => `${path}/${'a'.repeat(8000)}`,
  (path) => `${path}#fragment`,
  (path) => `http://127.0.0.1${path}`,
  (path) => path.replace(/[a-z]/, (letter) => `%${letter.charCodeAt(0).toString(16)}`),
  (path, random) => `${path}?${random.pick(['', '&', '=', '%', 'a=%zz', 'a=%00', 'a&a&a', '__proto__[x]=1'])}`,
];

function mutateParams(random: Random, state: LiveState, params: Params): void {
  switch (random.int(7)) {
    case 0:
      if (params.length) params.splice(random.int(params.length), 1);
      break;
    case 1:
      if (params.length) {
        const [name] = random.pick(params);
        params.push([name, oddValue(random, state)]);
      }
      break;
    case 2:
    case 3:
      if (params.length) {
        const at = random.int(params.length);
        params[at] = [(params[at] as [Value, Value])[0], oddValue(random, state)];
      }
      break;
    case 4:
      params.push([random.pick(PARAMETER_NAMES), oddValue(random, state)]);
      break;
    case 5:
      params.push([random.pick<Value>(['', '\0', '__proto__', 'constructor', 'client_id[]', 'a[b]', { raw: '%zz' }, { raw: '%ED%A0%80' }]), oddValue(random, state)]);
      break;
    default:
      if (params.length) {
        const at = random.int(params.length);
        const [name, value] = params[at] as [Value, Value];
        params[at] = [name, typeof value === 'string' ? mutateText(random, value) : value];
      }
  }
}

function oddAuthorization(random: Random, state: LiveState): string {
  const secret = random.pick([state.clientSecret, 'wrong', '', 'a\0b']);
  const options = [
    () => 'Basic',
    () => 'Basic ',
    () => 'Basic !!!not-base64!!!',
    () => `Basic ${Buffer.from(state.clientId).toString('base64')}`,
    () => `Basic ${Buffer.from(`${state.clientId}:${secret}`).toString('base64').replace(/=+$/, '')}`,
    () => basic(`${state.clientId}%00`, secret),
    () => basic('%zz', secret),
    () => basic('%ED%A0%80', secret),
    () => basic(state.clientId, 'x'.repeat(5000)),
    () => basic(':', ':'),
    () => basic(state.postClientId, state.postClientSecret),
    () => `Basic ${Buffer.from([0, 0xff, 0xfe, 0x3a, 0x80]).toString('base64')}`,
    () => `Bearer ${oddJwt(random, state)}`,
    () => `Bearer ${state.refreshToken}`,
    () => `Bearer ${state.accessToken} ${state.accessToken}`,
    () => `DPoP ${state.accessToken}`,
    () => `Bearer`,
    () => `${clientBasic(state)}, Bearer ${state.accessToken}`,
    () => `Digest username="${state.clientId}"`,
    () => `Basic ${'A'.repeat(random.pick([100, 4000, 20_000]))}`,
  ];
  return random.pick(options)();
}

function oddCookies(random: Random, cookies: string): string {
  const pairs = cookies ? cookies.split('; ') : [];
  const options = [
    () => '',
    () => pairs.filter((pair) => !pair.includes('.sig=')).join('; '),
    () => pairs.map((pair) => (random.chance(0.5) ? pair.replace(/=(.)/, (_, first: string) => `=${first === 'A' ? 'B' : 'A'}`) : pair)).join('; '),
    () => [...pairs, ...pairs].join('; '),
    () => [...pairs, '_session=%00', '_interaction=a%00b'].join('; '),
    () => '_session=; _session.sig=; _interaction=;',
    () => '=;;==; ;',
    () => [...pairs, `big=${'x'.repeat(random.pick([4000, 20_000]))}`].join('; '),
    () => pairs.map((pair) => pair.replace(/=.*/, `=${'\u00e9'.repeat(10)}`)).join('; '),
  ];
  return random.pick(options)();
}

const EXTRA_HEADERS: ((random: Random) => [string, string])[] = [
  (random) => ['accept', random.pick(['application/json', 'text/html', '*/*', '', 'text/html;q=0.5, application/json;q=0.5', 'x/y;q=bogus'])],
  (random) => ['accept-language', random.pick(['*', 'xx-XX', ';q=', 'é'])],
  (random) => ['x-forwarded-for', random.pick(['', 'garbage', '1.2.3.4, 5.6.7.8', '::1', '999.999.999.999', 'a'.repeat(1000)])],
  (random) => ['x-forwarded-proto', random.pick(['https', 'gopher', ''])],
  (random) => ['host', random.pick(['evil.example', '', '127.0.0.1:99999', '[::1', 'é'])],
  (random) => ['origin', random.pick(['null', 'http://evil.example', ''])],
  (random) => ['user-agent', random.pick(['', 'é'.repeat(600), 'x'.repeat(8000)])],
  (random) => ['if-none-match', random.pick(['*', '"x"', 'W/'])],
  (random) => ['range', random.pick(['bytes=0-0', 'bytes=-1', 'bytes=99999999-', 'bytes=x'])],
  (random) => ['expect', random.pick(['100-continue', 'something-else'])],
  (random) => ['content-encoding', random.pick(['gzip', 'deflate', 'br', 'identity', 'bogus'])],
  (random) => ['dpop', random.pick(['a.b.c', 'eyJhbGciOiJub25lIn0.e30.', ''])],
  (random) => ['x-' + 'h'.repeat(random.int(40)), random.pick(['\x01', 'é', 'ok'])],
];

/** Builds request number `id`: a valid request of a random endpoint, then one to four mutations. */
function generate(random: Random, state: LiveState, id: number): FuzzRequest {
  const endpoint = random.pick(ENDPOINTS);
  let method: string = endpoint.method;
  let path = endpoint.path(state);
  const params = endpoint.params?.(state) ?? [];
  let authorization = endpoint.authorization?.(state);
  let cookies = endpoint.cookies?.(state) ?? '';
  const headers: [string, string][] = [];
  let encoding: 'form' | 'json' | 'raw' = 'form';
  let contentType: string | undefined;
  let chunked = false;

  const mutations = random.chance(0.05) ? 0 : 1 + random.int(4);
  for (let i = 0; i < mutations; i++) {
    switch (random.int(12)) {
      case 0:
        method = random.pick(METHODS);
        break;
      case 1:
        path = random.pick(PATH_VARIANTS)(path, random);
        break;
      case 2:
      case 3:
      case 4:
        mutateParams(random, state, params);
        break;
      case 5:
        contentType = random.pick(CONTENT_TYPES);
        break;
      case 6:
        encoding = random.pick(['json', 'raw'] as const);
        break;
      case 7:
        authorization = random.chance(0.2) ? undefined : oddAuthorization(random, state);
        break;
      case 8:
        cookies = oddCookies(random, cookies);
        break;
      case 9:
      case 10:
        headers.push(random.pick(EXTRA_HEADERS)(random));
        break;
      default:
        chunked = true;
    }
  }

  let body = '';
  let target = path;
  if (method === 'GET' || method === 'HEAD') {
    if (params.length) target += `${path.includes('?') ? '&' : '?'}${formOf(params)}`;
  } else if (encoding === 'json') {
    const object = Object.fromEntries(params.map(([name, value]) => [typeof name === 'string' ? name : name.raw, typeof value === 'string' ? value : value.raw]));
    body = random.chance(0.3) ? JSON.stringify(object).slice(0, -1) : JSON.stringify(random.chance(0.2) ? [object] : object);
    contentType ??= 'application/json';
  } else if (encoding === 'raw') {
    body = String.fromCharCode(...Array.from({ length: random.int(512) }, () => random.int(256)));
  } else {
    body = formOf(params);
    contentType ??= 'application/x-www-form-urlencoded';
  }

  const all: [string, string][] = [['x-fuzz-case', String(id)]];
  if (endpoint.accept && !headers.some(([name]) => name === 'accept')) all.push(['accept', endpoint.accept]);
  if (authorization !== undefined) all.push(['authorization', authorization]);
  if (cookies) all.push(['cookie', cookies]);
  if (contentType !== undefined && body) all.push(['content-type', contentType]);
  all.push(...headers);
  if (chunked) all.push(['transfer-encoding', 'chunked']);
  // Latin-1 keeps raw bytes (encoding 'raw') as they were drawn; text bodies are UTF-8 as a client would send.
  const bytes = Buffer.from(body, encoding === 'raw' ? 'latin1' : 'utf8');
  return { id, endpoint: endpoint.name, method, target, headers: all, body: bytes };
}

// ---------------------------------------------------------------------------------------------- the wire

function serialize(request: FuzzRequest, port: number): Buffer {
  const hasHost = request.headers.some(([name]) => name === 'host');
  const chunked = request.headers.some(([name]) => name === 'transfer-encoding');
  const lines = [`${request.method} ${request.target} HTTP/1.1`];
  if (!hasHost) lines.push(`host: 127.0.0.1:${port}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (!chunked) lines.push(`content-length: ${request.body.length}`);
  lines.push('connection: close', '', '');
  const head = Buffer.from(lines.join('\r\n'), 'latin1');
  if (!chunked) return Buffer.concat([head, request.body]);
  const chunks = request.body.length ? [Buffer.from(`${request.body.length.toString(16)}\r\n`), request.body, Buffer.from('\r\n')] : [];
  return Buffer.concat([head, ...chunks, Buffer.from('0\r\n\r\n')]);
}

/** The final status line of a response (skipping 100 Continue) and its start, or nothing if none came. */
function parseResponse(received: Buffer): Outcome {
  const text = received.toString('latin1');
  for (const match of text.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/g)) {
    const status = Number(match[1]);
    if (status >= 200 || status < 100) return { status, head: text.slice(match.index, match.index + 600) };
  }
  return {};
}

function send(port: number, request: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    let settled = false;
    const finish = (failure?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const outcome = parseResponse(Buffer.concat(received));
      resolve(outcome.status ? outcome : { error: failure ?? 'the connection closed without a response' });
    };
    const timer = setTimeout(() => finish(`no response within ${REQUEST_TIMEOUT_MS} ms`), REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => finish());
    socket.on('error', (error) => finish(`connection error: ${error.message}`));
    socket.write(serialize(request, port));
  });
}

/** The request as sent: strings JSON-escaped, the body one latin1 character per byte (Buffer.from(body, 'latin1')). */
function describeRequest(request: FuzzRequest): string {
  const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
  const headers = request.headers.map(([name, value]) => `    ${name}: ${JSON.stringify(clip(value, 200))}`).join('\n');
  const body = request.body.length ? `\n    body: ${JSON.stringify(clip(request.body.toString('latin1'), 400))}` : '';
  return `  #${request.id} [${request.endpoint}] ${JSON.stringify(request.method)} ${JSON.stringify(clip(request.target, 300))}\n${headers}${body}`;
}

// ---------------------------------------------------------------------------------------------- the run

/** The methods the server implements: RFC 9110 §15.6.2 makes 501 the right answer to any other, not a fault. */
const IMPLEMENTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function isFailure(request: FuzzRequest, outcome: Outcome): boolean {
  if (outcome.status === undefined) return true;
  if (outcome.status === 501) return IMPLEMENTED_METHODS.includes(request.method);
  return outcome.status >= 500;
}

interface Failure {
  request: FuzzRequest;
  outcome: Outcome;
  serverError?: string;
}

async function liveState(server: TestServer, clients: Awaited<ReturnType<typeof addInstance>>[]): Promise<LiveState> {
  const [first, second] = clients as [Awaited<ReturnType<typeof addInstance>>, Awaited<ReturnType<typeof addInstance>>];
  const query = (clientId: string) => formOf(authorizationParams(clientId));
  const signedIn = await codeFlow(first.client, { username: 'fuzzer', scope: 'openid profile email offline_access' });
  const consentPage = await signedIn.agent.open(`${server.url}/auth?${query(second.instance.clientId)}`);
  const consentUid = new URL(consentPage.url).pathname.split('/')[2] as string;
  const logoutPage = await signedIn.agent.open(`${server.url}/session/end?client_id=${first.instance.clientId}`);
  const signedOut = new BrowserAgent();
  const loginPage = await signedOut.open(`${server.url}/auth?${query(first.instance.clientId)}`);
  const loginUid = new URL(loginPage.url).pathname.split('/')[2] as string;
  return {
    port: Number(new URL(server.url).port),
    issuer: server.issuer,
    clientId: first.instance.clientId,
    clientSecret: first.clientSecret,
    postClientId: second.instance.clientId,
    postClientSecret: second.clientSecret,
    accessToken: signedIn.tokens.access_token,
    refreshToken: signedIn.tokens.refresh_token as string,
    idToken: signedIn.tokens.id_token as string,
    sessionCookies: await signedIn.agent.jar.getCookieString(`${server.url}/auth`),
    loginUid,
    loginCookies: await signedOut.jar.getCookieString(`${server.url}/interaction/${loginUid}`),
    resumeCookies: await signedOut.jar.getCookieString(`${server.url}/auth/${loginUid}`),
    consentUid,
    consentCookies: await signedIn.agent.jar.getCookieString(`${server.url}/interaction/${consentUid}`),
    logoutXsrf: hiddenInputs(logoutPage.body).xsrf ?? '',
  };
}

/** Groups failures by what went wrong where, so a thousand hits of one bug read as one entry with examples. */
function report(failures: Failure[], backend: string, ran: number): string {
  const groups = new Map<string, Failure[]>();
  for (const failure of failures) {
    const what =
      failure.serverError?.split('\n')[0] ??
      failure.outcome.error ??
      `status ${failure.outcome.status}, raised outside the provider (LOG_LEVEL=error logs its stack)`;
    const key = `${failure.outcome.status ?? 'no response'} at ${failure.request.endpoint}: ${what}`;
    groups.set(key, [...(groups.get(key) ?? []), failure]);
  }
  const sections = [...groups].map(([key, group]) => {
    const examples = group.slice(0, 3).map((failure) => {
      const stack = failure.serverError ? `\n    server error: ${failure.serverError.split('\n').slice(0, 8).join('\n      ')}` : '';
      const head = failure.outcome.head ? `\n    response: ${JSON.stringify(failure.outcome.head.slice(0, 300))}` : '';
      return `${describeRequest(failure.request)}${head}${stack}`;
    });
    return `${group.length} × ${key}\n${examples.join('\n')}`;
  });
  return `${failures.length} of ${ran} fuzzed requests failed on ${backend} (FUZZ_SEED=${SEED}):\n\n${sections.join('\n\n')}`;
}

for (const backend of FUZZ_BACKENDS) {
  if (!BACKENDS.includes(backend)) throw new Error(`FUZZ_BACKENDS: unknown backend "${backend}"`);

  describe(`fuzzing every endpoint on ${backend}`, function () {
    this.timeout((SECONDS + 60) * 1000);
    let server: TestServer;
    let clients: Awaited<ReturnType<typeof addInstance>>[];

    before(async function () {
      // The server logs nothing in tests; LOG_LEVEL=error shows the stacks of the app's own 500s.
      server = await startTestServer(backend, { ...FUZZ_ENV, ...(process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {}) });
      await addAccount(server, 'fuzzer');
      clients = [
        await addInstance(server),
        await addInstance(server, { tokenEndpointAuthMethod: 'client_secret_post', skipConsent: false, grantTypes: ['authorization_code', 'refresh_token'] }),
      ];
    });
    after(() => server.close());

    it(`answers ${COUNT} malformed requests (at most ${SECONDS} s) without a 5xx or a dropped connection`, async function () {
      const random = new Random(SEED);
      const failures: Failure[] = [];
      const serverErrors = new Map<string, string>();
      const unhandled: unknown[] = [];
      const statusesOf = new Map<string, Set<number>>();
      const onServerError = (ctx: { get(name: string): string }, error: Error) => serverErrors.set(ctx.get('x-fuzz-case'), error.stack ?? String(error));
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      server.services.provider.on('server_error', onServerError);
      process.on('unhandledRejection', onUnhandled);
      const deadline = Date.now() + SECONDS * 1000;
      let ran = 0;
      try {
        while (ran < COUNT && Date.now() < deadline) {
          const state = await liveState(server, clients);
          const batch = Array.from({ length: Math.min(BATCH, COUNT - ran) }, (_, i) => generate(random, state, ran + i));
          ran += batch.length;
          const queue = [...batch];
          await Promise.all(
            Array.from({ length: CONCURRENCY }, async () => {
              for (let request = queue.shift(); request; request = queue.shift()) {
                const outcome = await send(state.port, request);
                statusesOf.set(request.endpoint, (statusesOf.get(request.endpoint) ?? new Set()).add(outcome.status ?? 0));
                if (isFailure(request, outcome)) {
                  failures.push({ request, outcome, serverError: serverErrors.get(String(request.id)) });
                }
              }
            }),
          );
        }
      } finally {
        server.services.provider.off('server_error', onServerError);
        process.off('unhandledRejection', onUnhandled);
      }

      const crashes = unhandled.map((reason) => `unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
      if (failures.length || crashes.length) throw new Error([report(failures, backend, ran), ...crashes].join('\n\n'));
      // The fuzzer must have got through to the authenticated endpoints, not only bounced off their front doors.
      for (const endpoint of ['token (client_credentials)', 'introspection', 'userinfo', 'interaction login']) {
        expect(statusesOf.get(endpoint)?.has(200), `no request to ${endpoint} succeeded`).to.equal(true);
      }
      expect(ran).to.be.at.least(Math.min(COUNT, 500));
    });
  });
}
