/**
 * docker-compose.yml against the code that reads its settings (Docker does not run here; .ci/run checks the file with
 * docker-compose itself): every variable it sets for the server is configuration that config/index.ts reads, and
 * loadConfig accepts the lot once the .env secrets are filled in; every variable of an example instance is read by
 * the instance or the SDK's optionsFromEnv; no secret has a value of its own in the file.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../../config/index.js';
import { instanceOptionsFromEnv } from '../../examples/instance/options-from-env.js';
import { optionsFromEnv, createAuthClient } from '../../src/sdk/index.js';

interface ComposeService {
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  network_mode?: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** What a .env file would hold: the secrets the file demands, and the credentials of two registered instances. */
const DOT_ENV: Record<string, string> = {
  AUTH_SECRET_KEY: 'compose-test-secret-0123456789abcdef0123456789',
  POSTGRES_PASSWORD: 'compose-test-password',
  EXAMPLE_A_CLIENT_ID: 'example-a-client',
  EXAMPLE_A_CLIENT_SECRET: 'example-a-secret',
  EXAMPLE_B_CLIENT_ID: 'example-b-client',
  EXAMPLE_B_CLIENT_SECRET: 'example-b-secret',
};

const SERVER_SERVICES = ['migrate', 'auth'];
const HA_SERVER_SERVICES = ['ha-migrate', 'ha-auth-1', 'ha-auth-2', 'ha-auth-3'];
const EXAMPLE_SERVICES = ['example-a', 'example-b'];
const SECRET_NAME = /SECRET|PASSWORD/;

/** `${NAME}`, `${NAME:-default}`, `${NAME:?message}`, `${NAME-default}`, `${NAME?message}`: Compose's interpolation. */
const INTERPOLATION = /\$\{([A-Z0-9_]+)(?:(:?)([-?])([^}]*))?\}/g;

function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(INTERPOLATION, (_whole, name: string, colon: string, operator: string, argument: string) => {
    const set = env[name] !== undefined && (colon !== ':' || env[name] !== '');
    if (set) return env[name] as string;
    if (operator === '?') throw new Error(`${name} is required: ${argument}`);
    return argument ?? '';
  });
}

function environmentOf(service: ComposeService, env: Record<string, string> = DOT_ENV): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), env)]),
  );
}

/** The names `read` looks up in the environment it is given. */
function namesRead(read: (env: Record<string, string | undefined>) => unknown, env: Record<string, string>): Set<string> {
  const names = new Set<string>();
  read(
    new Proxy(env, {
      get(target, name) {
        if (typeof name === 'string') names.add(name);
        return target[name as string];
      },
    }),
  );
  return names;
}

describe('docker-compose.yml', function () {
  const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as ComposeFile;
  const service = (name: string): ComposeService => {
    const found = compose.services[name];
    if (!found) throw new Error(`no service ${name}`);
    return found;
  };

  for (const name of SERVER_SERVICES) {
    it(`sets only configuration keys for ${name}, and loadConfig accepts them with the .env secrets`, function () {
      const env = environmentOf(service(name));
      expect(Object.keys(env).filter((key) => !CONFIG_KEYS.includes(key)), 'not configuration').to.deep.equal([]);
      const config = loadConfig(env);
      expect(config.env).to.equal('production');
      expect(config.database.type).to.equal('postgres');
      expect(config.redis?.topology).to.deep.equal({ kind: 'single', url: 'redis://redis:6379' });
      expect(config.secretKey).to.equal(DOT_ENV.AUTH_SECRET_KEY);
    });
  }

  for (const name of HA_SERVER_SERVICES) {
    it(`production profile: ${name} reaches Redis through the sentinels and PostgreSQL through the balancer`, function () {
      const env = environmentOf(service(name));
      expect(Object.keys(env).filter((key) => !CONFIG_KEYS.includes(key)), 'not configuration').to.deep.equal([]);
      const config = loadConfig(env);
      expect(config.database).to.deep.include({ type: 'postgres' });
      expect(new URL((config.database as { url: string }).url).hostname).to.equal('ha-balancer');
      expect(config.redis?.topology.kind).to.equal('sentinel');
      expect(config.redis?.waitReplicas).to.equal(1);
      const topology = config.redis?.topology;
      const sentinels = topology?.kind === 'sentinel' ? topology.sentinels.map(({ host }) => host) : [];
      expect(sentinels).to.have.length(3);
      expect(sentinels.every((host) => compose.services[host]), 'every sentinel is a service').to.equal(true);
    });
  }

  it('production profile: three nodes behind the balancer, each checked on /readyz, and the stores replicated', function () {
    const haproxy = readFileSync(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url), 'utf8');
    expect(haproxy).to.contain('option httpchk GET /readyz');
    for (const node of ['ha-auth-1', 'ha-auth-2', 'ha-auth-3']) {
      expect(haproxy).to.contain(`${node}:3001 check`);
      expect(service(node).depends_on?.['ha-migrate']).to.deep.equal({ condition: 'service_completed_successfully' });
    }
    expect(haproxy).to.contain('external-check command /usr/local/bin/postgres-writable-check');
    expect((service('ha-redis-2').command ?? []).join(' ')).to.contain('--replicaof ha-redis-1 6379');
    expect(service('ha-postgres-2').entrypoint?.join(' ')).to.contain('standby-entrypoint.sh');
  });

  it('refuses to load without the .env secrets', function () {
    expect(() => environmentOf(service('auth'), {})).to.throw(/AUTH_SECRET_KEY is required|POSTGRES_PASSWORD is required/);
  });

  it('gives no secret a value of its own: each comes from .env, with no default', function () {
    const secrets = Object.values(compose.services).flatMap(({ environment = {} }) =>
      Object.entries(environment).filter(([name]) => SECRET_NAME.test(name) || name === 'AUTH_API_SECRET'),
    );
    expect(secrets).to.have.length.above(0);
    for (const [name, value] of secrets) {
      expect(String(value), name).to.match(/^\$\{[A-Z0-9_]+(:?\?[^}]*|:-)?\}$/);
    }
  });

  it('migrates before the server starts', function () {
    expect(service('migrate').command).to.deep.equal(['chillfi3-auth', 'migrate']);
    expect(service('auth').depends_on?.migrate).to.deep.equal({ condition: 'service_completed_successfully' });
  });

  it('runs Redis with an append-only file and without eviction', function () {
    const command = (service('redis').command ?? []).join(' ');
    expect(command).to.contain('--appendonly yes').and.contain('--maxmemory-policy noeviction');
  });

  for (const name of EXAMPLE_SERVICES) {
    it(`sets only variables ${name} or the SDK reads, and the SDK accepts them`, function () {
      const env = environmentOf(service(name));
      const readByInstance = namesRead(instanceOptionsFromEnv, env);
      const readBySdk = namesRead(optionsFromEnv, env);
      expect(Object.keys(env).filter((key) => !readByInstance.has(key)), 'not read').to.deep.equal([]);
      expect(Object.keys(env).filter((key) => key.startsWith('AUTH_') && !readBySdk.has(key)), 'not the SDK’s')
        .to.deep.equal([]);

      const options = instanceOptionsFromEnv(env);
      expect(options.authServerUrl).to.equal(environmentOf(service('auth')).AUTH_ISSUER);
      const client = createAuthClient({
        serverUrl: options.authServerUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        logger: null,
      });
      client.close();
      expect(service(name).network_mode, 'the issuer is localhost for the instance too').to.equal('service:auth');
    });
  }
});
