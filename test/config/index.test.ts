import { expect } from 'chai';
import { ConfigError, DEVELOPMENT_SECRET_KEY, loadConfig } from '../../config/index.js';

describe('config', function () {
  it('starts on the embedded default with the plan\'s values when nothing is set', function () {
    const config = loadConfig({});
    expect(config.port).to.equal(3001);
    expect(config.issuer).to.equal('http://localhost:3001');
    expect(config.database.type).to.equal('sqlite');
    expect(config.redisUrl).to.equal(undefined);
    expect(config.ttl).to.include({ accessToken: 900, refreshToken: 604800 });
    expect(config.lockout).to.deep.equal({ maxAttempts: 5, durationSeconds: 300 });
    expect(config.usesDevelopmentSecret).to.equal(true);
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('refuses a production start with the default or a missing secret', function () {
    expect(() => loadConfig({ NODE_ENV: 'production' })).to.throw(ConfigError, /AUTH_SECRET_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_SECRET_KEY: DEVELOPMENT_SECRET_KEY })).to.throw(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_SECRET_KEY: 'short' })).to.throw(ConfigError, /32/);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_SECRET_KEY: 'x'.repeat(48) }).usesDevelopmentSecret).to.equal(false);
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

  it('builds a PostgreSQL URL from the plan\'s split settings', function () {
    const config = loadConfig({ AUTH_DB_HOST: 'db.internal', AUTH_DB_NAME: 'auth', AUTH_DB_USER: 'chill', AUTH_DB_PASSWORD: 'p@ss' });
    expect(config.database).to.deep.equal({ type: 'postgres', url: 'postgres://chill:p%40ss@db.internal:5432/auth' });
  });

  it('wants both TLS files or neither, and makes the issuer https with them', function () {
    expect(() => loadConfig({ AUTH_TLS_CERT: '/c.pem' })).to.throw(ConfigError, /AUTH_TLS_KEY/);
    expect(loadConfig({ AUTH_TLS_CERT: '/c.pem', AUTH_TLS_KEY: '/k.pem' }).issuer).to.equal('https://localhost:3001');
  });
});
