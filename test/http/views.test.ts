import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { renderView, stylesheetPath, viewsDir } from '../../src/http/views.js';
import { wayOnFrom } from '../../src/web/error-way-on.js';

const evil = '<script>alert(1)</script>';
/** The error page's way on for a sign-in page an instance sent someone to. */
const wayOn = wayOnFrom('/interaction/u1');
const escapedEvil = '&lt;script&gt;alert(1)&lt;/script&gt;';
const logoutForm =
  '<form id="op.logoutForm" method="post" action="https://auth.example/session/end/confirm">' +
  '<input type="hidden" name="xsrf" value="abc123"/></form>';

describe('views', () => {
  it('finds the views folder and the stylesheet from the project root', () => {
    expect(existsSync(`${viewsDir}/layout.ejs`)).to.equal(true);
    expect(existsSync(stylesheetPath)).to.equal(true);
  });

  describe('layout', () => {
    it('is an accessible, self-contained page', async () => {
      const html = await renderView('logged-out', { title: 'Signed out' });
      expect(html).to.match(/^<!DOCTYPE html>/);
      expect(html).to.include('<html lang="en">');
      expect(html).to.include('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(html).to.include('<title>Signed out · ChillFi3</title>');
      expect(html).to.include('<link rel="stylesheet" href="/assets/style.css">');
      expect(html).to.include('ChillFi3</span>');
      expect(html).to.include('<main');
    });

    it('has no inline script, inline style or external asset on any page', async () => {
      const pages = await Promise.all([
        renderView('login', { title: 'Sign in', uid: 'u1', clientName: 'Home', action: '/i/u1/login', abortUrl: '/i/u1/abort' }),
        renderView('consent', {
          title: 'Allow', uid: 'u1', clientName: 'Home', username: 'ann', scopes: [{ name: 'openid', description: 'Know who you are' }],
          action: '/i/u1/confirm', abortUrl: '/i/u1/abort',
        }),
        renderView('logout', { title: 'Sign out', form: logoutForm }),
        renderView('logged-out', { title: 'Signed out' }),
        renderView('error', { title: 'Error', status: 400, error: 'invalid_request', wayOn }),
      ]);
      for (const html of pages) {
        expect(html).not.to.match(/<script/i);
        expect(html).not.to.match(/<style/i);
        expect(html).not.to.match(/\sstyle=/i);
        expect(html).not.to.match(/\son[a-z]+=/i);
        expect(html).not.to.match(/(src|href)="(https?:)?\/\//i);
      }
    });

    it('escapes the title', async () => {
      const html = await renderView('logged-out', { title: evil });
      expect(html).to.include(`<title>${escapedEvil} · ChillFi3</title>`);
      expect(html).not.to.include(evil);
    });

    it('falls back to a default title', async () => {
      const html = await renderView('login', { uid: 'u1', clientName: 'Home', action: '/a', abortUrl: '/b' });
      expect(html).to.include('<title>Sign in · ChillFi3</title>');
    });
  });

  describe('login', () => {
    const base = { title: 'Sign in', uid: 'u1', clientName: 'Living room', action: '/interaction/u1/login', abortUrl: '/interaction/u1/abort' };

    it('posts username and password to the action', async () => {
      const html = await renderView('login', base);
      expect(html).to.include('<form class="form" method="post" action="/interaction/u1/login"');
      expect(html).to.match(/<input id="username" name="username" type="text" autocomplete="username"[^>]* required value=""/);
      expect(html).to.match(/<input id="password" name="password" type="password" autocomplete="current-password" required/);
      expect(html).to.include('<label for="username">');
      expect(html).to.include('<label for="password">');
      expect(html).to.include('<button class="button button-primary" type="submit">Sign in</button>');
      expect(html).to.include('href="/interaction/u1/abort"');
      expect(html).to.include('Living room');
      expect(html).not.to.include('role="alert"');
      const form = /<form[\s\S]*<\/form>/.exec(html)?.[0] ?? '';
      const fieldNames = [...form.matchAll(/\sname="([^"]+)"/g)].map((match) => match[1]);
      expect(fieldNames).to.deep.equal(['username', 'password']);
    });

    it('shows the error in an alert and keeps the username', async () => {
      const html = await renderView('login', { ...base, username: 'ann', error: 'Invalid username or password.' });
      expect(html).to.match(/<div class="alert alert-error" role="alert"[^>]*>Invalid username or password\.<\/div>/);
      expect(html).to.include('value="ann"');
      expect(html).to.match(/autocomplete="current-password" required autofocus/);
    });

    it('escapes the client name, username, error and URLs', async () => {
      const html = await renderView('login', {
        ...base, clientName: evil, username: `"><img src=x>${evil}`, error: evil, action: '/a?x="><b>', abortUrl: '/b"><i>',
      });
      expect(html).not.to.include(evil);
      expect(html).not.to.include('<img');
      expect(html).not.to.include('<b>');
      expect(html).not.to.include('<i>');
      expect(html).to.include(escapedEvil);
      expect(html).to.include('value="&#34;&gt;&lt;img src=x&gt;');
    });
  });

  describe('consent', () => {
    const base = {
      title: 'Allow access',
      uid: 'u2',
      clientName: 'Studio',
      username: 'ann',
      scopes: [
        { name: 'openid', description: 'Know who you are' },
        { name: 'profile', description: 'See your name and picture' },
      ],
      action: '/interaction/u2/confirm',
      abortUrl: '/interaction/u2/abort',
    };

    it('lists the scopes and offers Allow and Deny', async () => {
      const html = await renderView('consent', base);
      expect(html).to.match(/<strong class="client-name">Studio<\/strong> wants to:/);
      expect(html).to.include('<span class="scope-description">Know who you are</span>');
      expect(html).to.include('<code class="scope-name">profile</code>');
      expect(html).to.include('<form class="form" method="post" action="/interaction/u2/confirm">');
      expect(html).to.match(/<button class="button button-primary" type="submit"[^>]*>Allow<\/button>/);
      expect(html).to.include('<a class="button button-secondary" href="/interaction/u2/abort">Deny</a>');
      expect(html).to.include('ann');
    });

    it('escapes the client name, username and scope text', async () => {
      const html = await renderView('consent', {
        ...base, clientName: evil, username: evil, scopes: [{ name: evil, description: evil }],
      });
      expect(html).not.to.include(evil);
      expect(html.split(escapedEvil)).to.have.length(5);
    });

    it('renders without scopes', async () => {
      const html = await renderView('consent', { ...base, scopes: [] });
      expect(html).to.include('wants to confirm who you are');
      expect(html).not.to.include('scope-list');
    });
  });

  describe('logout', () => {
    it('inserts the provider form unescaped with buttons bound to it', async () => {
      const html = await renderView('logout', { title: 'Sign out', clientName: 'Studio', form: logoutForm });
      expect(html).to.include(logoutForm);
      expect(html).to.include('<button class="button button-primary" type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out everywhere</button>');
      expect(html).to.include('<button class="button button-secondary" type="submit" form="op.logoutForm">Stay signed in</button>');
      expect(html).to.include('Studio');
    });

    it('escapes the client name and works without one', async () => {
      const escaped = await renderView('logout', { title: 'Sign out', clientName: evil, form: logoutForm });
      expect(escaped).not.to.include(evil);
      expect(escaped).to.include(escapedEvil);
      const anonymous = await renderView('logout', { title: 'Sign out', form: logoutForm });
      expect(anonymous).to.include(logoutForm);
      expect(anonymous).not.to.include('You are signing out of');
    });
  });

  describe('logged-out', () => {
    it('says so, with or without a client name', async () => {
      const named = await renderView('logged-out', { title: 'Signed out', clientName: evil });
      expect(named).to.include('You are signed out');
      expect(named).to.include(escapedEvil);
      expect(named).not.to.include(evil);
      const anonymous = await renderView('logged-out', { title: 'Signed out' });
      expect(anonymous).to.include('You are signed out');
    });
  });

  describe('error', () => {
    it('shows a friendly message, the code and the description', async () => {
      const html = await renderView('error', { title: 'Error', status: 400, error: 'invalid_request', wayOn, description: 'missing client_id' });
      expect(html).to.include('We could not complete that request');
      expect(html).to.include('<code>invalid_request</code>');
      expect(html).to.include('missing client_id');
      expect(html).to.include('400');
    });

    it('picks the message by status', async () => {
      expect(await renderView('error', { title: 'E', status: 404, error: 'not_found', wayOn })).to.include('Page not found');
      expect(await renderView('error', { title: 'E', status: 429, error: 'too_many_requests', wayOn })).to.include('Too many attempts');
      expect(await renderView('error', { title: 'E', status: 500, error: 'server_error', wayOn })).to.include('Something went wrong on our side');
    });

    it('escapes its text and never shows a stack trace', async () => {
      const failure = new Error('database exploded');
      const html = await renderView('error', {
        title: 'Error', status: 500, error: evil, description: evil, stack: failure.stack, cause: failure, wayOn,
      });
      expect(html).not.to.include(evil);
      expect(html).to.include(escapedEvil);
      expect(html).not.to.include('database exploded');
      expect(html).not.to.match(/\n\s+at /);
      expect(html).not.to.include('views.test.ts');
    });
  });
});
