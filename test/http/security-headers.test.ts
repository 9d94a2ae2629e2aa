import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import koaHelmet from 'koa-helmet';
import { securityHeaders, type StaticHelmetOptions } from '../../src/http/security-headers.js';

const OPTIONS: StaticHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] } },
  crossOriginEmbedderPolicy: false,
  frameguard: { action: 'deny' },
};

/** The headers a Koa app with `middleware` in front of a plain answer sends, bar the ones that change per response. */
async function headersWith(middleware: Koa.Middleware): Promise<Record<string, string>> {
  const app = new Koa();
  app.use(middleware);
  app.use((ctx) => {
    ctx.set('X-Powered-By', 'something');
    ctx.body = 'ok';
  });
  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const headers = Object.fromEntries(response.headers);
    delete headers.date;
    return headers;
  } finally {
    server.close();
  }
}

describe('security headers worked out once', function () {
  it('sends what helmet sends on each request, with the same options', async function () {
    const replayed = await headersWith(securityHeaders(OPTIONS));
    expect(replayed).to.deep.equal(await headersWith(koaHelmet(OPTIONS)));
    expect(replayed['x-frame-options']).to.equal('DENY');
    expect(replayed['content-security-policy']).to.equal("default-src 'self';frame-ancestors 'none'");
  });

  it('refuses options helmet refuses, at start-up', function () {
    expect(() => securityHeaders({ contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ['a;b'] } } })).to.throw();
  });
});
