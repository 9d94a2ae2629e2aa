import { request, type IncomingHttpHeaders } from 'node:http';
import { expect } from 'chai';
import { DISCOVERY_PATHS, ROUTES } from '../../src/provider/routes.js';
import { providerAlone } from '../support/provider-alone.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const DOCUMENTS = [...DISCOVERY_PATHS, ROUTES.jwks];

/** A request to `base` with the headers given (Host included: fetch always sends the URL's own). */
function send(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request({ hostname, port, path, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** What the provider itself answers for `path`, asked for the server's issuer (its Host). */
async function providerAnswer(server: TestServer, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const alone = await providerAlone(server);
  try {
    return await send(alone.url, path, { host: new URL(server.issuer).host, ...headers });
  } finally {
    await alone.close();
  }
}

describe('discovery and the JWKS from kept bytes', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server.close());

  it('[provider-pin] answers byte for byte what the provider answers, first and from then on, with the same headers', async function () {
    const origin = 'https://instance.example';
    for (const path of DOCUMENTS) {
      const own = await providerAnswer(server, path, { origin });
      expect(own.status, path).to.equal(200);
      for (const attempt of ['first', 'kept']) {
        const answer = await send(server.url, path, { origin });
        expect(answer.status, `${path} ${attempt}`).to.equal(200);
        expect(answer.body.equals(own.body), `${path} ${attempt}: the provider's bytes`).to.equal(true);
        for (const header of ['content-type', 'content-length', 'access-control-allow-origin', 'vary', 'cache-control']) {
          expect(answer.headers[header], `${path} ${attempt}: ${header}`).to.equal(own.headers[header]);
        }
        expect(answer.headers['x-frame-options'], 'the security headers still set').to.equal('DENY');
      }
    }
    const withoutOrigin = await send(server.url, ROUTES.jwks);
    expect(withoutOrigin.headers['access-control-allow-origin']).to.equal('*');
  });

  it('gives a strong ETag and answers 304 to a matching If-None-Match, 200 with the body otherwise', async function () {
    for (const path of DOCUMENTS) {
      const { headers, body } = await send(server.url, path);
      const etag = headers.etag as string;
      expect(etag, path).to.match(/^"[\w-]+"$/);
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const notModified = await send(server.url, path, { 'if-none-match': ifNoneMatch });
        expect(notModified.status, `${path} If-None-Match: ${ifNoneMatch}`).to.equal(304);
        expect(notModified.body.length).to.equal(0);
        expect(notModified.headers.etag).to.equal(etag);
        expect(notModified.headers.vary).to.equal('Origin');
        expect(notModified.headers['access-control-allow-origin']).to.equal('*');
      }
      const changed = await send(server.url, path, { 'if-none-match': '"something-else"' });
      expect(changed.status).to.equal(200);
      expect(changed.body.equals(body)).to.equal(true);
      const revalidate = await send(server.url, path, { 'if-none-match': etag, 'cache-control': 'no-cache' });
      expect(revalidate.status, 'a client asking past its cache gets the body').to.equal(200);
    }
  });

  it('answers HEAD with the headers of GET and no body', async function () {
    for (const path of DOCUMENTS) {
      const get = await send(server.url, path);
      for (const attempt of ['first', 'kept']) {
        const head = await send(server.url, path, {}, 'HEAD');
        expect(head.status, `${path} ${attempt}`).to.equal(200);
        expect(head.body.length).to.equal(0);
        for (const header of ['content-type', 'content-length', 'etag', 'access-control-allow-origin', 'vary']) {
          expect(head.headers[header], `${path} ${attempt}: ${header}`).to.equal(get.headers[header]);
        }
      }
    }
  });

  it('answers every spelling the provider runs with the same document', async function () {
    const spellings: Record<string, string[]> = {
      '/.well-known/openid-configuration': ['/.WELL-KNOWN/openid-configuration', '/.well-known/OpenID-Configuration/'],
      '/.well-known/oauth-authorization-server': ['/.well-known/OAUTH-authorization-server/'],
      [ROUTES.jwks]: ['/JWKS', '/jwks/', '/Jwks/?x=1'],
    };
    for (const [path, variants] of Object.entries(spellings)) {
      const canonical = await send(server.url, path);
      for (const variant of variants) {
        const own = await providerAnswer(server, variant);
        expect(own.status, `the provider runs ${variant}`).to.equal(200);
        const answer = await send(server.url, variant);
        expect(answer.status, variant).to.equal(200);
        expect(answer.body.equals(canonical.body), variant).to.equal(true);
        expect(answer.body.equals(own.body), `${variant}: the provider's bytes`).to.equal(true);
        expect(answer.headers.etag, variant).to.equal(canonical.headers.etag);
      }
    }
  });

  it('leaves a request for another origin to the provider, which builds the URLs from it', async function () {
    const { port } = new URL(server.url);
    const answer = await send(server.url, DISCOVERY_PATHS[0], { host: `localhost:${port}` });
    expect(answer.status).to.equal(200);
    expect(JSON.parse(answer.body.toString()).token_endpoint).to.equal(`http://localhost:${port}${ROUTES.token}`);
    expect(answer.headers.etag, 'not kept').to.equal(undefined);
    const own = await providerAnswer(server, DISCOVERY_PATHS[0], { host: `localhost:${port}` });
    expect(answer.body.equals(own.body)).to.equal(true);
  });

  it('leaves other methods to the provider (CORS preflight)', async function () {
    const preflight = await send(server.url, ROUTES.jwks, { origin: 'https://instance.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(preflight.status).to.equal(204);
    expect(preflight.headers['access-control-allow-methods']).to.equal('GET');
  });
});

describe('discovery and the JWKS after a key rotation, on every node (PostgreSQL + Redis)', function () {
  let first: TestServer;
  let second: TestServer;
  before(async function () {
    first = await startTestServer('postgres+redis');
    second = await startTestServer('postgres+redis', {}, { join: first });
  });
  after(async function () {
    await second?.close();
    await first?.close();
  });

  /** A request to `node` as a load balancer passes it on: for the issuer, whichever node serves it. */
  const toNode = (node: TestServer, path: string, headers: Record<string, string> = {}) =>
    send(node.url, path, { host: new URL(node.issuer).host, ...headers });

  it('serves the new key set with a new ETag on each node once it has the new keys, as its provider does', async function () {
    const nodes = [first, second];
    const before = await Promise.all(nodes.map((node) => toNode(node, ROUTES.jwks)));
    const discoveryBefore = await Promise.all(nodes.map((node) => toNode(node, DISCOVERY_PATHS[0])));
    expect(before[1]!.headers.etag, 'kept on the second node too').to.be.a('string');
    expect(before[1]!.body.equals(before[0]!.body), 'both nodes serve one key set').to.equal(true);

    const [staged] = await first.services.keys.rotate(['ES256']);
    await Promise.all(nodes.map((node) => node.services.keyWatch.check()));

    for (const [index, node] of nodes.entries()) {
      const answer = await toNode(node, ROUTES.jwks, { 'if-none-match': before[index]!.headers.etag as string });
      expect(answer.status, `node ${index}: the old ETag no longer matches`).to.equal(200);
      expect(answer.headers.etag).to.not.equal(before[index]!.headers.etag);
      const kids = (JSON.parse(answer.body.toString()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
      expect(kids, `node ${index}: the staged key is published`).to.include(staged!.kid);
      const own = await providerAnswer(node, ROUTES.jwks);
      expect(answer.body.equals(own.body), `node ${index}: the new provider's bytes`).to.equal(true);
      const kept = await toNode(node, ROUTES.jwks, { 'if-none-match': answer.headers.etag as string });
      expect(kept.status, `node ${index}: the new ETag matches`).to.equal(304);

      const discovery = await toNode(node, DISCOVERY_PATHS[0]);
      expect(discovery.body.equals((await providerAnswer(node, DISCOVERY_PATHS[0])).body)).to.equal(true);
      expect(discovery.headers.etag, 'discovery holds no keys: same bytes, same ETag').to.equal(discoveryBefore[index]!.headers.etag);
    }
  });
});
