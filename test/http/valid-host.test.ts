import { request } from 'node:http';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** A GET with a Host header of our choosing (fetch always sends the URL's own). */
function getWithHost(server: TestServer, path: string, host: string): Promise<{ status: number; type: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ hostname, port, path, headers: { host, accept: 'application/json' } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'] ?? '' }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('the Host header', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server.close());

  it('answers 400 problem+json for a Host that is not a valid host, where the provider builds URLs from it', async function () {
    for (const path of ['/.well-known/openid-configuration', '/session/end', '/auth?client_id=x']) {
      for (const host of ['127.0.0.1:99999', 'a b', '[::1']) {
        const response = await getWithHost(server, path, host);
        expect(response.status, `${host} ${path}`).to.equal(400);
        expect(response.type).to.contain('application/problem+json');
      }
    }
  });

  it('serves a valid Host as before', async function () {
    const { host } = new URL(server.url);
    expect((await getWithHost(server, '/.well-known/openid-configuration', host)).status).to.equal(200);
  });
});
