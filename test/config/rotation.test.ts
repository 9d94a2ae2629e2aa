import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../config/index.js';

const SECRET = 's'.repeat(40);

describe('config: key and master secret rotation', function () {
  it('reads AUTH_SECRET_KEY_PREVIOUS as a comma list, and refuses a value too short to be a secret', function () {
    expect(loadConfig({ AUTH_SECRET_KEY: SECRET }).previousSecretKeys).to.deep.equal([]);
    const rotating = loadConfig({ AUTH_SECRET_KEY: SECRET, AUTH_SECRET_KEY_PREVIOUS: ` ${'a'.repeat(32)} , ${'b'.repeat(32)}` });
    expect(rotating.previousSecretKeys).to.deep.equal(['a'.repeat(32), 'b'.repeat(32)]);
    expect(() => loadConfig({ AUTH_SECRET_KEY: SECRET, AUTH_SECRET_KEY_PREVIOUS: `${'a'.repeat(32)},short` }))
      .to.throw(ConfigError, /AUTH_SECRET_KEY_PREVIOUS: each comma-separated value must be at least 32 characters/);
  });

  it('rotates signing keys by hand only, an hour after staging, checked every 5 s, unless told otherwise', function () {
    expect(loadConfig({ AUTH_SECRET_KEY: SECRET }).keyRotation).to.deep.equal({ rotationDays: 0, publishDelaySeconds: 3600, checkIntervalSeconds: 5 });
    const scheduled = loadConfig({ AUTH_SECRET_KEY: SECRET, AUTH_KEY_ROTATION_DAYS: '90', AUTH_KEY_PUBLISH_DELAY: '900', AUTH_KEY_CHECK_INTERVAL: '2' });
    expect(scheduled.keyRotation).to.deep.equal({ rotationDays: 90, publishDelaySeconds: 900, checkIntervalSeconds: 2 });
    expect(() => loadConfig({ AUTH_SECRET_KEY: SECRET, AUTH_KEY_CHECK_INTERVAL: '0' })).to.throw(ConfigError, /AUTH_KEY_CHECK_INTERVAL/);
  });
});
