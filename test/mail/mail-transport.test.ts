// The SMTP transport against real relays on loopback that speak TLS with a self-signed certificate: smtps:// (TLS
// from the first byte) and smtp:// offering STARTTLS. The certificate is refused unless SMTP_TLS_REJECT_UNAUTHORIZED
// is false; STARTTLS is used whenever the relay offers it; the user and password reach the relay as configured.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../config/index.js';
import { smtpTransport } from '../../src/mail/mail-transport.js';
import { freePort } from '../support/free-port.js';

interface Delivery {
  secure: boolean;
  user: string | undefined;
  to: string[];
}

interface TlsRelay {
  port: number;
  deliveries: Delivery[];
  logins: { username: string | undefined; password: string | undefined }[];
  stop(): Promise<void>;
}

const MAIL = { subject: 'Hello', text: 'Hello over TLS', html: '<p>Hello over TLS</p>' };

/** A relay with the test's certificate, on TLS from the start (`secure`) or offering STARTTLS; it wants a login. */
async function startTlsRelay(tls: { key: Buffer; cert: Buffer }, secure: boolean): Promise<TlsRelay> {
  const port = await freePort();
  const deliveries: Delivery[] = [];
  const logins: TlsRelay['logins'] = [];
  const server = new SMTPServer({
    ...tls,
    secure,
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    // A relay that takes a password only over TLS, as real ones do.
    allowInsecureAuth: false,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username, password: auth.password ?? undefined });
      if (auth.username === 'mailer' && auth.password === 's@cret:/pass') return callback(null, { user: auth.username });
      callback(new Error('bad credentials'));
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        deliveries.push({ secure: session.secure, user: session.user as string | undefined, to: session.envelope.rcptTo.map((to) => to.address) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { port, deliveries, logins, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('mail transport over TLS', function () {
  this.timeout(30_000);
  const base = { AUTH_SECRET_KEY: 'x'.repeat(40), AUTH_DATA_DIR: '/tmp/chillfi3-mail-transport-test', MAIL_FROM: 'ChillFi3 <auth@example.org>' };
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };
  let implicit: TlsRelay;
  let startTls: TlsRelay;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'chillfi3-smtp-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    tls = { key: readFileSync(key), cert: readFileSync(cert) };
    implicit = await startTlsRelay(tls, true);
    startTls = await startTlsRelay(tls, false);
  });

  after(async function () {
    await implicit?.stop();
    await startTls?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function transport(env: Record<string, string>) {
    const mail = loadConfig({ ...base, ...env }).mail;
    if (!mail) throw new Error('mail is off');
    return smtpTransport(mail);
  }

  async function sendWith(env: Record<string, string>, to: string): Promise<void> {
    const sender = transport(env);
    try {
      await sender.send(to, MAIL);
    } finally {
      sender.close();
    }
  }

  it('refuses a self-signed relay on smtps:// by default, and sends nothing', async function () {
    const url = `smtps://mailer:s%40cret%3A%2Fpass@127.0.0.1:${implicit.port}`;
    let refused: unknown;
    await sendWith({ SMTP_URL: url }, 'default@example.org').catch((error: unknown) => (refused = error));
    expect(String(refused)).to.match(/self[- ]signed|certificate/i);
    expect(implicit.deliveries.filter(({ to }) => to.includes('default@example.org'))).to.deep.equal([]);
    expect(implicit.logins, 'no password went to an unverified relay').to.deep.equal([]);
  });

  it('sends over smtps:// to a self-signed relay with SMTP_TLS_REJECT_UNAUTHORIZED=false, logging in with the URL’s user', async function () {
    const url = `smtps://mailer:s%40cret%3A%2Fpass@127.0.0.1:${implicit.port}`;
    await sendWith({ SMTP_URL: url, SMTP_TLS_REJECT_UNAUTHORIZED: 'false' }, 'implicit@example.org');
    expect(implicit.deliveries.find(({ to }) => to.includes('implicit@example.org'))).to.deep.equal({ secure: true, user: 'mailer', to: ['implicit@example.org'] });
  });

  it('upgrades smtp:// with STARTTLS when the relay offers it, before the password is sent (SMTP_USER/SMTP_PASSWORD)', async function () {
    const env = { SMTP_URL: `smtp://127.0.0.1:${startTls.port}`, SMTP_USER: 'mailer', SMTP_PASSWORD: 's@cret:/pass', SMTP_TLS_REJECT_UNAUTHORIZED: 'false' };
    await sendWith(env, 'starttls@example.org');
    expect(startTls.deliveries.find(({ to }) => to.includes('starttls@example.org'))).to.deep.equal({ secure: true, user: 'mailer', to: ['starttls@example.org'] });
  });

  it('refuses the STARTTLS upgrade to a self-signed relay by default, and sends nothing', async function () {
    const env = { SMTP_URL: `smtp://127.0.0.1:${startTls.port}`, SMTP_USER: 'mailer', SMTP_PASSWORD: 's@cret:/pass' };
    const loginsBefore = startTls.logins.length;
    let refused: unknown;
    await sendWith(env, 'refused-starttls@example.org').catch((error: unknown) => (refused = error));
    expect(String(refused)).to.match(/self[- ]signed|certificate/i);
    expect(startTls.deliveries.filter(({ to }) => to.includes('refused-starttls@example.org'))).to.deep.equal([]);
    expect(startTls.logins.length, 'no password went to an unverified relay').to.equal(loginsBefore);
  });
});
