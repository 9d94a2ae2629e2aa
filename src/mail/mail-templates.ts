// Renders a mail from views/mail/: a text part and an HTML part of the same words, the server's name and issuer in
// both. EJS escapes every interpolation of the HTML part; the text part is rendered unescaped (it is plain text).
// Every link a mail holds must be on the issuer: a mail never points anywhere else.
import ejs from 'ejs';
import { join } from 'node:path';
import { viewsDir } from '../http/views.js';
import { MAIL_SUBJECTS, type Mail } from './mail-kinds.js';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface MailSite {
  /** The product name mails are signed with. */
  serverName: string;
  issuer: string;
}

const htmlOptions: ejs.Options = { cache: true, strict: true, localsName: 'locals' };
// The text part escapes nothing: `<%= %>` prints the value as it is.
const textOptions: ejs.Options = { ...htmlOptions, escape: (value: unknown) => String(value) };

/** The links in the mail's data: each must start with the issuer and a slash. */
function checkLinks(mail: Mail, issuer: string): void {
  if ('url' in mail.data && !mail.data.url.startsWith(`${issuer}/`)) throw new Error(`a ${mail.kind} mail links outside the issuer`);
}

export async function renderMail(mail: Mail, site: MailSite): Promise<RenderedMail> {
  checkLinks(mail, site.issuer);
  const locals = { ...mail.data, serverName: site.serverName, issuer: site.issuer, accountUrl: `${site.issuer}/account` };
  const [textBody, htmlBody] = await Promise.all([
    ejs.renderFile(join(viewsDir, 'mail', `${mail.kind}.text.ejs`), locals, textOptions),
    ejs.renderFile(join(viewsDir, 'mail', `${mail.kind}.html.ejs`), locals, htmlOptions),
  ]);
  const subject = `${MAIL_SUBJECTS[mail.kind]} · ${site.serverName}`;
  const [text, html] = await Promise.all([
    ejs.renderFile(join(viewsDir, 'mail', 'layout.text.ejs'), { ...locals, body: textBody }, textOptions),
    ejs.renderFile(join(viewsDir, 'mail', 'layout.html.ejs'), { ...locals, body: htmlBody, subject }, htmlOptions),
  ]);
  return { subject, text, html };
}

/** A moment as mails write it: "2026-12-08 14:05 UTC" (readers are anywhere; the server knows no time zone of theirs). */
export function mailTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
