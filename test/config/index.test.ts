import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../config/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A secret of the required length, for the settings that need one. */
const SECRET = { AUTH_SECRET_KEY: 'x'.repeat(48) };

describe('config', function () {
  let dataDir: string;
  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'chillfi3-config-'));
  });
  afterEach(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on the embedded default with the plan\'s values when nothing else is set', function () {
    const config = loadConfig({ AUTH_DATA_DIR: dataDir });
    expect(config.port).to.equal(3001);
    expect(config.issuer).to.equal('http://localhost:3001');
    expect(config.issuerSet, 'made from AUTH_PORT, not given').to.equal(false);
    expect(loadConfig({ AUTH_DATA_DIR: dataDir, AUTH_ISSUER: 'https://auth.example.com/' })).to.include({ issuer: 'https://auth.example.com', issuerSet: true });
    expect(config.database.type).to.equal('sqlite');
    expect(config.redis).to.equal(undefined);
    expect(config.ttl).to.include({ accessToken: 900, refreshToken: 604800 });
    expect(config.lockout).to.deep.equal({ maxAttempts: 5, durationSeconds: 300 });
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('generates the embedded default\'s secret on first start, private, beside the database, and keeps it', function () {
    const nested = join(dataDir, 'not', 'yet');
    const first = loadConfig({ AUTH_DATA_DIR: nested });
    const file = join(nested, 'secret.key');
    expect(first.generatedSecret).to.deep.equal({ file, created: true });
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(readFileSync(file, 'utf8').trim()).to.equal(first.secretKey);
    expect(first.secretKey).to.have.length.of.at.least(64);

    const second = loadConfig({ AUTH_DATA_DIR: nested });
    expect(second.secretKey).to.equal(first.secretKey);
    expect(second.generatedSecret).to.deep.equal({ file, created: false });
    expect(loadConfig({ AUTH_DATA_DIR: dataDir }).secretKey, 'another data folder, another secret').not.to.equal(first.secretKey);
  });

  it('agrees on one secret when several processes start on a new data folder at once', async function () {
    this.timeout(30_000);
    // Each process loads the configuration and prints a digest of its secret, and whether it created the file.
    const script =
      "import { createHash } from 'node:crypto'; import { loadConfig } from './config/index.ts';" +
      'const { secretKey, generatedSecret } = loadConfig({ AUTH_DATA_DIR: process.argv[1] });' +
      "console.log(JSON.stringify({ digest: createHash('sha256').update(secretKey).digest('hex'), created: generatedSecret.created }));";
    const runs = await Promise.all(
      Array.from({ length: 8 }, () =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dataDir], { cwd: ROOT }),
      ),
    );
    const results = runs.map((run) => JSON.parse(run.stdout) as { digest: string; created: boolean });
    const kept = createHash('sha256').update(readFileSync(join(dataDir, 'secret.key'), 'utf8').trim()).digest('hex');
    expect(new Set(results.map((result) => result.digest))).to.deep.equal(new Set([kept]));
    expect(results.filter((result) => result.created)).to.have.length(1);
    expect(readdirSync(dataDir), 'no drafts left behind').to.deep.equal(['secret.key']);
  });

  it('uses AUTH_SECRET_KEY when set, and then writes no file', function () {
    const config = loadConfig({ AUTH_DATA_DIR: dataDir, ...SECRET });
    expect(config.secretKey).to.equal(SECRET.AUTH_SECRET_KEY);
    expect(config.generatedSecret).to.equal(undefined);
    expect(() => statSync(join(dataDir, 'secret.key'))).to.throw(/ENOENT/);
  });

  it('reads one Redis, Sentinel or Cluster, with a key prefix, and refuses more than one of them or a bad node list', function () {
    const base = { AUTH_DATA_DIR: dataDir };
    expect(loadConfig({ ...base, AUTH_REDIS_URL: 'redis://r:6379' }).redis).to.deep.equal({
      topology: { kind: 'single', url: 'redis://r:6379' },
      prefix: '',
      waitReplicas: 0,
    });
    const sentinel = loadConfig({
      ...base,
      AUTH_REDIS_SENTINELS: 's1:26379, [::1]:26380',
      AUTH_REDIS_SENTINEL_NAME: 'auth',
      AUTH_REDIS_SENTINEL_PASSWORD: 'sp',
      AUTH_REDIS_PASSWORD: 'dp',
      AUTH_REDIS_PREFIX: 'staging:',
      AUTH_REDIS_WAIT_REPLICAS: '1',
    }).redis;
    expect(sentinel).to.deep.equal({
      topology: {
        kind: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }],
        name: 'auth',
        sentinelPassword: 'sp',
        password: 'dp',
      },
      prefix: 'staging:',
      waitReplicas: 1,
    });
    expect(loadConfig({ ...base, AUTH_REDIS_SENTINELS: 's1:26379' }).redis?.topology).to.include({ name: 'mymaster' });
    expect(loadConfig({ ...base, AUTH_REDIS_CLUSTER_NODES: 'c1:7000,c2:7001' }).redis?.topology).to.deep.equal({
      kind: 'cluster',
      nodes: [{ host: 'c1', port: 7000 }, { host: 'c2', port: 7001 }],
      password: undefined,
    });
    expect(() => loadConfig({ ...base, AUTH_REDIS_URL: 'redis://r:6379', AUTH_REDIS_CLUSTER_NODES: 'c1:7000' })).to.throw(
      ConfigError,
      'AUTH_REDIS_URL, AUTH_REDIS_CLUSTER_NODES: set only one of them',
    );
    expect(() => loadConfig({ ...base, AUTH_REDIS_SENTINELS: 's1' })).to.throw(ConfigError, /AUTH_REDIS_SENTINELS: must be a comma list of host:port/);
    expect(() => loadConfig({ ...base, AUTH_REDIS_CLUSTER_NODES: 'c1:70000' })).to.throw(ConfigError, /AUTH_REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ ...base, AUTH_REDIS_URL: 'redis://r', AUTH_REDIS_PREFIX: '{all}' })).to.throw(ConfigError, /AUTH_REDIS_PREFIX/);
    expect(() => loadConfig({ ...base, AUTH_REDIS_CLUSTER_NODES: 'c1:7000', AUTH_REDIS_WAIT_REPLICAS: '1' })).to.throw(
      ConfigError,
      /AUTH_REDIS_WAIT_REPLICAS: not available with AUTH_REDIS_CLUSTER_NODES/,
    );
  });

  it('refuses a kept secret that is too short, naming the file and what to do', function () {
    writeFileSync(join(dataDir, 'secret.key'), 'short\n', { mode: 0o600 });
    expect(() => loadConfig({ AUTH_DATA_DIR: dataDir })).to.throw(ConfigError, /secret\.key.*AUTH_SECRET_KEY/s);
  });

  it('refuses PostgreSQL without AUTH_SECRET_KEY, saying how to make one', function () {
    for (const env of [{ AUTH_DATABASE_URL: 'postgres://db.internal/auth' }, { AUTH_DB_HOST: 'db.internal' }]) {
      expect(() => loadConfig({ ...env, AUTH_DATA_DIR: dataDir }))
        .to.throw(ConfigError, /AUTH_SECRET_KEY/)
        .with.property('message')
        .that.contains('openssl rand -base64 48');
    }
    expect(loadConfig({ AUTH_DATABASE_URL: 'postgres://db.internal/auth', ...SECRET }).secretKey).to.equal(SECRET.AUTH_SECRET_KEY);
  });

  it('refuses a production start without AUTH_SECRET_KEY or with a short one, even on the embedded default', function () {
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_DATA_DIR: dataDir })).to.throw(ConfigError, /AUTH_SECRET_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_DATA_DIR: dataDir, AUTH_SECRET_KEY: '' })).to.throw(ConfigError, /AUTH_SECRET_KEY/);
    expect(() => statSync(join(dataDir, 'secret.key'))).to.throw(/ENOENT/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_SECRET_KEY: 'short' })).to.throw(ConfigError, /32/);
    expect(loadConfig({ NODE_ENV: 'production', ...SECRET }).secretKey).to.equal(SECRET.AUTH_SECRET_KEY);
  });

  it('names every bad key at once', function () {
    let message = '';
    try {
      loadConfig({ AUTH_PORT: 'abc', TOKEN_TTL: '-1', AUTH_REDIS_URL: 'http://nope' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.contain('AUTH_PORT').and.contain('TOKEN_TTL').and.contain('AUTH_REDIS_URL');
  });

  it('gives a refresh retry a grace of 10 seconds unless told otherwise, 0 turning it off, at most a minute', function () {
    expect(loadConfig({ AUTH_DATA_DIR: dataDir }).refreshRetryGraceSeconds).to.equal(10);
    expect(loadConfig({ AUTH_DATA_DIR: dataDir, REFRESH_RETRY_GRACE_SECONDS: '0' }).refreshRetryGraceSeconds).to.equal(0);
    for (const refused of ['-1', '61', '2.5', 'soon']) {
      expect(() => loadConfig({ AUTH_DATA_DIR: dataDir, REFRESH_RETRY_GRACE_SECONDS: refused }), refused)
        .to.throw(ConfigError, /REFRESH_RETRY_GRACE_SECONDS/);
    }
  });

  it('takes LOG_FORMAT json, pretty or auto (the default), and refuses anything else', function () {
    expect(loadConfig({ AUTH_DATA_DIR: dataDir }).logFormat).to.equal('auto');
    for (const format of ['json', 'pretty', 'auto']) expect(loadConfig({ AUTH_DATA_DIR: dataDir, LOG_FORMAT: format }).logFormat).to.equal(format);
    expect(() => loadConfig({ AUTH_DATA_DIR: dataDir, LOG_FORMAT: 'text' })).to.throw(ConfigError, /LOG_FORMAT/);
  });

  it('builds a PostgreSQL URL from the plan\'s split settings', function () {
    const config = loadConfig({ AUTH_DB_HOST: 'db.internal', AUTH_DB_NAME: 'auth', AUTH_DB_USER: 'chill', AUTH_DB_PASSWORD: 'p@ss', ...SECRET });
    expect(config.database).to.deep.equal({ type: 'postgres', url: 'postgres://chill:p%40ss@db.internal:5432/auth' });
  });

  it('wants both TLS files or neither, and makes the issuer https with them', function () {
    expect(() => loadConfig({ AUTH_TLS_CERT: '/c.pem' })).to.throw(ConfigError, /AUTH_TLS_KEY/);
    expect(loadConfig({ AUTH_TLS_CERT: '/c.pem', AUTH_TLS_KEY: '/k.pem', ...SECRET }).issuer).to.equal('https://localhost:3001');
  });
});
