import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/test-server.js';

describe('security headers', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server.close());

  it('forbids framing the same way in X-Frame-Options and the CSP, on pages and APIs alike', async function () {
    for (const path of ['/.well-known/openid-configuration', '/auth?client_id=unknown', '/healthz', '/nowhere']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.headers.get('x-frame-options'), path).to.equal('DENY');
      expect(response.headers.get('content-security-policy'), path).to.contain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options'), path).to.equal('nosniff');
    }
  });
});
