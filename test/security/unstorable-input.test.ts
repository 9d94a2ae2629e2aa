// Input no store can hold (a NUL: PostgreSQL text refuses it, src/db/storable.ts) and other odd input (overlong
// ids, bad percent-encoding, lone UTF-16 surrogates) must end as the protocol's own 4xx on every backend: the value
// names nothing stored. Before the guards, PostgreSQL refused each NUL lookup and the request ended as a 500.
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { BrowserAgent, formAction, type Page } from '../support/browser-agent.js';
import { addInstance, basicAuth, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const FORM = 'application/x-www-form-urlencoded';

/**
 * Odd client ids, as they appear in a form body (already percent-encoded) and as the client id inside a Basic
 * header (percent-encoded per RFC 6749 §2.3.1, or raw bytes). Inside a Basic header §2.3.1 allows only encoded
 * VSCHARs: a NUL, a bad escape or the escape of an invalid UTF-8 sequence makes the header malformed, which §5.2
 * calls invalid_request, before any client is looked up.
 */
const ODD_CLIENT_IDS = [
  { name: 'a NUL', form: 'a%00b', basic: 'a%00b', basicMalformed: true },
  { name: 'a raw NUL', form: 'a\0b', basic: 'a\0b', basicMalformed: true },
  { name: 'an overlong id', form: 'x'.repeat(300), basic: 'x'.repeat(300), basicMalformed: false },
  { name: 'invalid percent-encoding', form: '%zz', basic: '%zz', basicMalformed: true },
  { name: 'a lone UTF-16 surrogate', form: '%ED%A0%80', basic: '%ED%A0%80', basicMalformed: true },
];

/** Odd tokens, codes and usernames, percent-encoded for a form body. */
const ODD_VALUES = [
  { name: 'a NUL', encoded: 'a%00b' },
  { name: 'only NUL', encoded: '%00' },
  { name: 'an overlong value', encoded: 'x'.repeat(300) },
  { name: 'invalid percent-encoding', encoded: '%zz' },
  { name: 'a lone UTF-16 surrogate', encoded: '%ED%A0%80' },
];

/** The endpoints where a client authenticates, with a body that is otherwise valid there. */
const CLIENT_ENDPOINTS = [
  { path: '/token', body: 'grant_type=client_credentials' },
  { path: '/token/introspection', body: 'token=some-token' },
  { path: '/token/revocation', body: 'token=some-token' },
  { path: '/request', body: `response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}` },
];

/** A Basic header whose client id part is `clientId` as given: no encoding added. */
function rawBasic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`, 'utf8').toString('base64')}`;
}

/** The error code and status the HTML error page shows. */
function htmlError(body: string): { error: string; status: number } | undefined {
  const match = /Error <code>([^<]+)<\/code> · (\d+)/.exec(body);
  return match ? { error: match[1] as string, status: Number(match[2]) } : undefined;
}

async function expectOAuthError(response: Response, status: number, error: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).to.equal(status);
  expect(JSON.parse(text), text).to.have.property('error', error);
}

for (const backend of BACKENDS) {
  describe(`unstorable and odd input on ${backend}`, function () {
    let server: TestServer;
    let clientId: string;
    let clientAuth: string;

    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });

    /** A fresh sign-in interaction of the registered instance, at its login page. */
    async function loginPage(agent: BrowserAgent): Promise<Page> {
      const query = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: REDIRECT_URI,
        state: 'state',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuIq2rcC-qM',
        code_challenge_method: 'S256',
      });
      const page = await agent.open(`${server.url}/auth?${query}`);
      expect(page.body).to.include('name="username"');
      return page;
    }

    before(async function () {
      server = await startTestServer(backend);
      const registered = await addInstance(server);
      clientId = registered.instance.clientId;
      clientAuth = basicAuth(clientId, registered.clientSecret);
    });
    after(() => server.close());

    for (const { path, body } of CLIENT_ENDPOINTS) {
      for (const odd of ODD_CLIENT_IDS) {
        it(`${path}: ${odd.name} as client_id in the form is an unknown client (401 invalid_client)`, async function () {
          await expectOAuthError(await post(path, `${body}&client_id=${odd.form}&client_secret=secret`), 401, 'invalid_client');
        });
      }

      for (const odd of ODD_CLIENT_IDS) {
        const [status, error] = odd.basicMalformed ? [400, 'invalid_request'] : [401, 'invalid_client'];
        it(`${path}: ${odd.name} as client id in a Basic header answers ${status} ${error}`, async function () {
          await expectOAuthError(await post(path, body, { authorization: rawBasic(odd.basic, 'secret') }), status, error);
        });
      }

      it(`${path}: a client assertion whose subject holds a NUL is an unknown client (401 invalid_client)`, async function () {
        const assertion = await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('a\0b')
          .setSubject('a\0b')
          .setAudience(server.issuer)
          .setJti('jti')
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(new TextEncoder().encode('an assertion key of thirty-two bytes'));
        const assertionBody = `${body}&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${assertion}`;
        await expectOAuthError(await post(path, assertionBody), 401, 'invalid_client');
      });
    }

    it('/token: a Basic header larger than the header limit is refused with 431 before the app runs', async function () {
      const response = await post('/token', 'grant_type=client_credentials', { authorization: `Basic ${'A'.repeat(20_000)}` });
      expect(response.status).to.equal(431);
    });

    for (const odd of ODD_CLIENT_IDS) {
      it(`/auth: ${odd.name} as client_id shows the invalid_client error page (400)`, async function () {
        const response = await fetch(`${server.url}/auth?client_id=${odd.form}&response_type=code&scope=openid`, {
          redirect: 'manual',
        });
        expect(response.status).to.equal(400);
        expect(htmlError(await response.text())).to.deep.equal({ error: 'invalid_client', status: 400 });
      });
    }

    for (const odd of ODD_VALUES) {
      it(`/token: ${odd.name} as authorization code is invalid_grant (400)`, async function () {
        const body = `grant_type=authorization_code&code=${odd.encoded}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${'v'.repeat(43)}`;
        await expectOAuthError(await post('/token', body, { authorization: clientAuth }), 400, 'invalid_grant');
      });

      it(`/token: ${odd.name} as refresh token is invalid_grant (400)`, async function () {
        const body = `grant_type=refresh_token&refresh_token=${odd.encoded}`;
        await expectOAuthError(await post('/token', body, { authorization: clientAuth }), 400, 'invalid_grant');
      });

      it(`/token/introspection: ${odd.name} as token is inactive`, async function () {
        const response = await post('/token/introspection', `token=${odd.encoded}`, { authorization: clientAuth });
        expect(response.status).to.equal(200);
        expect(await response.json()).to.deep.equal({ active: false });
      });

      it(`/token/revocation: ${odd.name} as token is quietly ignored (200, RFC 7009 §2.2)`, async function () {
        const response = await post('/token/revocation', `token=${odd.encoded}`, { authorization: clientAuth });
        expect(response.status).to.equal(200);
      });

      it(`/me: ${odd.name} as access token in the body is invalid_token (401)`, async function () {
        await expectOAuthError(await post('/me', `access_token=${odd.encoded}`), 401, 'invalid_token');
      });

      it(`/auth: ${odd.name} in a request_uri sends invalid_request_uri to the instance`, async function () {
        const requestUri = `urn:ietf:params:oauth:request_uri:${odd.encoded}`;
        const response = await fetch(`${server.url}/auth?client_id=${clientId}&request_uri=${requestUri}`, { redirect: 'manual' });
        expect(response.status).to.equal(303);
        // The instance's only registered redirect URI is the one the error can safely go to.
        const location = new URL(response.headers.get('location') as string);
        expect(`${location.origin}${location.pathname}`).to.equal(REDIRECT_URI);
        expect(location.searchParams.get('error')).to.equal('invalid_request_uri');
      });

      it(`/interaction/:uid/login: ${odd.name} as username is an ordinary failed sign-in`, async function () {
        const agent = new BrowserAgent();
        const page = await loginPage(agent);
        const action = new URL(formAction(page.body), page.url).toString();
        const response = await fetch(action, {
          method: 'POST',
          headers: { 'content-type': FORM, accept: 'text/html', cookie: await agent.jar.getCookieString(action) },
          body: `username=${odd.encoded}&password=wrong`,
          redirect: 'manual',
        });
        expect(response.status).to.equal(200);
        expect(await response.text()).to.include('Invalid username or password.');
      });
    }
  });
}
