// Every mail kind renders a text and an HTML part naming the server and its issuer, escapes what it quotes in the
// HTML part, and refuses a link that is not on the issuer.
import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import type { Mail } from '../../src/mail/mail-kinds.js';
import { renderMail } from '../../src/mail/mail-templates.js';

const SITE = { serverName: 'ChillFi3 sign-in', issuer: 'https://auth.example.org' };
const ORIGIN = { ip: '192.0.2.1', userAgent: '<script>alert(1)</script> Browser' };
const base = { to: 'owner@example.org', accountId: 'a1' };

const MAILS: Mail[] = [
  { ...base, kind: 'password_reset', data: { username: 'owner', url: `${SITE.issuer}/set-password?token=t`, expiresAt: '2026-12-09 10:00 UTC', origin: ORIGIN } },
  { ...base, kind: 'password_link', data: { username: 'owner', url: `${SITE.issuer}/set-password?token=t`, expiresAt: '2026-12-09 10:00 UTC', reason: 'new_account' } },
  { ...base, kind: 'email_verification', data: { username: 'owner', url: `${SITE.issuer}/verify-email?token=t`, expiresAt: '2026-12-15 10:00 UTC', email: 'owner@example.org' } },
  { ...base, kind: 'password_changed', data: { username: 'owner', at: '2026-12-08 10:00 UTC', origin: ORIGIN } },
  { ...base, kind: 'new_browser_sign_in', data: { username: 'owner', at: '2026-12-08 10:00 UTC', origin: ORIGIN } },
  { ...base, kind: 'second_factor_changed', data: { username: 'owner', at: '2026-12-08 10:00 UTC', change: 'removed', factor: 'passkey', origin: ORIGIN } },
];

describe('mail templates', function () {
  for (const mail of MAILS) {
    it(`renders ${mail.kind} as text and HTML with the server's name and issuer`, async function () {
      const rendered = await renderMail(mail, SITE);
      expect(rendered.subject).to.match(/ · ChillFi3 sign-in$/);
      for (const part of [rendered.text, rendered.html]) expect(part).to.contain('ChillFi3 sign-in').and.to.contain(SITE.issuer).and.to.contain('owner');
      if ('url' in mail.data) expect(rendered.text).to.contain(mail.data.url);
      if ('origin' in mail.data) {
        expect(rendered.text).to.contain(ORIGIN.userAgent);
        expect(rendered.html).not.to.contain('<script>');
        expect(rendered.html).to.contain('&lt;script&gt;');
      }
      // Every link of the HTML part is on the issuer.
      const hrefs = [...rendered.html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
      expect(hrefs.length).to.be.at.least(2);
      expect(hrefs.every((href) => href.startsWith(`${SITE.issuer}/`)), hrefs.join(' ')).to.equal(true);
      const parsed = await simpleParser(`Content-Type: text/html; charset=utf-8\r\n\r\n${rendered.html}`);
      expect(parsed.html).to.be.a('string');
    });
  }

  it('refuses a link that is not on the issuer', async function () {
    const elsewhere: Mail = { ...base, kind: 'password_reset', data: { username: 'o', url: 'https://auth.example.org.evil.test/set-password', expiresAt: 'x', origin: ORIGIN } };
    let refused: unknown;
    await renderMail(elsewhere, SITE).catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(Error);
  });
});
