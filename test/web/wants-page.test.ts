// The console's pages and the admin REST API share /admin: which requests are pages, and both still answered.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { pagesOnly, wantsPage } from '../../src/web/wants-page.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

function contextOf(method: string, headers: Record<string, string>) {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.url = '/admin/users';
  req.headers = headers;
  return new Koa().createContext(req, new ServerResponse(req));
}

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('web: wantsPage', function () {
  it('is a page for a browser GET or HEAD that prefers HTML and carries no Authorization', function () {
    expect(wantsPage(contextOf('GET', { accept: BROWSER_ACCEPT }))).to.equal(true);
    expect(wantsPage(contextOf('HEAD', { accept: 'text/html' }))).to.equal(true);
  });

  it('is a page for a form post without Authorization', function () {
    expect(wantsPage(contextOf('POST', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '1' }))).to.equal(true);
  });

  it('is the API for a Bearer token, whatever else the request says', function () {
    expect(wantsPage(contextOf('GET', { accept: BROWSER_ACCEPT, authorization: 'Bearer x' }))).to.equal(false);
    expect(wantsPage(contextOf('POST', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '1', authorization: 'Bearer x' }))).to.equal(false);
  });

  it('is the API for JSON asked for or sent, no Accept at all, and every other method', function () {
    expect(wantsPage(contextOf('GET', { accept: 'application/json' }))).to.equal(false);
    expect(wantsPage(contextOf('GET', { accept: '*/*' }))).to.equal(false);
    expect(wantsPage(contextOf('GET', {}))).to.equal(false);
    expect(wantsPage(contextOf('POST', { 'content-type': 'application/json', 'content-length': '2' }))).to.equal(false);
    for (const method of ['PUT', 'PATCH', 'DELETE']) expect(wantsPage(contextOf(method, { accept: 'text/html' }))).to.equal(false);
  });

  it('pagesOnly runs its pages for pages and passes the rest by', async function () {
    const ran: string[] = [];
    const guarded = pagesOnly(async (_ctx, next) => {
      ran.push('pages');
      await next();
    });
    await guarded(contextOf('GET', { accept: 'text/html' }), async () => void ran.push('next'));
    await guarded(contextOf('GET', { accept: 'application/json' }), async () => void ran.push('next'));
    expect(ran).to.deep.equal(['pages', 'next', 'next']);
  });
});

describe('web: the console and the admin REST API side by side under /admin', function () {
  let server: TestServer;

  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(async function () {
    await server?.close();
  });

  it('sends a browser to sign in for the console and answers API calls as the API', async function () {
    const page = await fetch(`${server.url}/admin/users`, { headers: { accept: BROWSER_ACCEPT }, redirect: 'manual' });
    expect(page.status).to.equal(302);
    expect(page.headers.get('location')).to.match(/\/auth\?client_id=chillfi3-auth-console&/);

    const bearer = await fetch(`${server.url}/admin/users`, { headers: { accept: BROWSER_ACCEPT, authorization: 'Bearer not-a-token' } });
    expect(bearer.status).to.equal(401);
    const json = await fetch(`${server.url}/admin/users`, { headers: { accept: 'application/json' } });
    expect(json.status).to.equal(401);
    expect(json.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });

  it('leaves the provider and the user API where they were', async function () {
    const discovery = await fetch(`${server.url}/.well-known/openid-configuration`, { headers: { accept: BROWSER_ACCEPT } });
    expect(discovery.status).to.equal(200);
    expect(((await discovery.json()) as { response_types_supported: string[] }).response_types_supported).to.include('code');
    const register = await fetch(`${server.url}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(register.status).to.equal(401);
  });
});
