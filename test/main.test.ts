import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect } from 'chai';
import { scratchPostgres } from './support/databases.js';
import { freePort } from './support/free-port.js';
import { output, startMain, waitForLog } from './support/main-process.js';

describe('main: starting and stopping the server', function () {
  let dataDir: string;
  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'chillfi3-main-'));
  });
  afterEach(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a production start without AUTH_SECRET_KEY, naming it, with exit code 78', async function () {
    const child = startMain({ NODE_ENV: 'production', AUTH_DATA_DIR: dataDir, AUTH_SECRET_KEY: '' });
    const read = output(child);
    const [code] = await once(child, 'exit');
    expect(code).to.equal(78);
    expect(read()).to.contain('AUTH_SECRET_KEY').and.not.contain('    at ');
  });

  it('refuses to start on a PostgreSQL database that was not migrated, saying what to run', async function () {
    const database = await scratchPostgres();
    try {
      const child = startMain({ ...database.env, AUTH_SECRET_KEY: 's'.repeat(40), AUTH_PORT: String(await freePort()) });
      const read = output(child);
      const [code] = await once(child, 'exit');
      expect(code).to.equal(1);
      expect(read()).to.contain('run "chillfi3-auth migrate" first');
    } finally {
      await database.drop();
    }
  });

  it('refuses to start on PostgreSQL without AUTH_SECRET_KEY, saying how to make one, with exit code 78', async function () {
    const child = startMain({ AUTH_DATABASE_URL: 'postgres://127.0.0.1:9/none', AUTH_SECRET_KEY: '' });
    const read = output(child);
    const [code] = await once(child, 'exit');
    expect(code).to.equal(78);
    expect(read()).to.contain('AUTH_SECRET_KEY').and.contain('openssl rand -base64 48').and.not.contain('    at ');
  });

  it('starts with no settings at all: generates its secret beside the database, logs where, reuses it next time', async function () {
    const secretFile = join(dataDir, 'secret.key');
    async function startAndStop(): Promise<string> {
      const port = await freePort();
      // Nothing of the environment but the place of the data folder (the port to run beside other tests).
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { PATH: process.env.PATH, AUTH_DATA_DIR: dataDir, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const read = output(child);
      try {
        await waitForLog(read, /chillfi3-auth listening/, child);
        const discovery = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
        expect(discovery.status).to.equal(200);
      } finally {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      return read();
    }
    const first = await startAndStop();
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(statSync(secretFile).mode & 0o777).to.equal(0o600);
    expect(first).to.contain('generated a secret').and.contain(secretFile).and.not.contain(secret);
    const second = await startAndStop();
    expect(second).to.contain('using the secret kept in this file').and.contain(secretFile).and.not.contain(secret);
    expect(readFileSync(secretFile, 'utf8').trim()).to.equal(secret);
  });

  it('starts on the embedded database, migrating it, serves discovery, and stops cleanly on SIGTERM', async function () {
    const port = await freePort();
    const child = startMain({ AUTH_DATA_DIR: dataDir, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1' });
    const read = output(child);
    await waitForLog(read, /chillfi3-auth listening/, child);
    const discovery = (await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).to.equal(`http://localhost:${port}`);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).to.equal(0);
  });

  it('logs JSON lines to a pipe, and readable lines with a first-run banner under LOG_FORMAT=pretty', async function () {
    // Two starts of the server from source.
    this.timeout(120_000);
    async function startAndStop(env: Record<string, string>): Promise<string> {
      const port = await freePort();
      const child = startMain({ AUTH_DATA_DIR: dataDir, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', ...env });
      const read = output(child);
      try {
        await waitForLog(read, /chillfi3-auth listening/, child);
      } finally {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      return read();
    }
    const json = await startAndStop({});
    const records = json.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; setupToken?: string; url?: string });
    const noAdmin = records.find((record) => record.msg.startsWith('no admin yet'));
    expect(noAdmin?.setupToken).to.be.a('string');
    expect(json, 'no banner among the JSON lines').not.to.contain('=====');

    const pretty = await startAndStop({ LOG_FORMAT: 'pretty' });
    expect(pretty).not.to.match(/^\{/m);
    const line = /^\d\d:\d\d:\d\d\.\d{3} WARN {2}no admin yet: .* url=(\S+) setupToken=(\S+)$/m.exec(pretty);
    expect(line, pretty).not.to.equal(null);
    const [, url, setupToken] = line!;
    expect(pretty).to.contain(`No admin yet. To create the first one, open:\n    ${url}\n`);
    expect(pretty).to.contain(`the page asks for this setup token (good until an admin exists):\n    ${setupToken}\n`);
    expect(pretty).to.match(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}chillfi3-auth listening issuer=/m);
  });

  it('serves HTTPS with TLS 1.3 only when given a certificate', async function () {
    const cert = join(dataDir, 'cert.pem');
    const key = join(dataDir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const port = await freePort();
    const child = startMain({ AUTH_DATA_DIR: dataDir, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', AUTH_TLS_CERT: cert, AUTH_TLS_KEY: key });
    const read = output(child);
    try {
      await waitForLog(read, /chillfi3-auth listening/, child);
      const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
        new Promise<string>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion }, () => {
            resolve(socket.getProtocol() ?? 'none');
            socket.end();
          });
          socket.on('error', () => resolve('refused'));
        });
      expect(await handshake('TLSv1.3')).to.equal('TLSv1.3');
      expect(await handshake('TLSv1.2')).to.equal('refused');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
