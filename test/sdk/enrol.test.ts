// The SDK's enrol command (the package's bin): one command and one token register a ChillFi3 server and write its .env
// lines, from which the SDK then works; a refused enrolment writes nothing and says why; a server already enrolled
// keeps its token unused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { expect } from 'chai';
import { chillfi3Metadata } from '../../src/sdk/enrol.js';
import { EXIT, runCommand } from '../../src/sdk/enrol-command.js';
import { createAuthClient, optionsFromEnv } from '../../src/sdk/index.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR = { accountId: null, via: 'cli', osUser: 'test' } as const;

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(argv, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

for (const backend of BACKENDS.filter((each) => each !== 'postgres')) {
  describe(`sdk: enrol command (${backend})`, function () {
    let server: TestServer;
    let dir: string;

    before(async function () {
      server = await startTestServer(backend);
      dir = await mkdtemp(join(tmpdir(), 'chillfi3-enrol-'));
    });
    after(async function () {
      await rm(dir, { recursive: true, force: true });
      await server?.close();
    });

    const token = async (terms = {}) => (await server.services.enrolmentOperations.issue(terms, OPERATOR)).token;

    it('registers the server and writes the .env lines the SDK then works from', async function () {
      const envFile = join(dir, 'joined.env');
      await writeFile(envFile, 'PORT=4000');
      const answer = await run(['enrol', '--server', server.issuer, '--token', await token(), '--url', 'https://music.example/', '--name', 'Music', '--env-file', envFile]);
      expect(answer.code, answer.stderr).to.equal(EXIT.ok);
      expect(answer.stdout).to.include('Enrolled as "Music"').and.include(envFile);
      const text = await readFile(envFile, 'utf8');
      expect(text.startsWith('PORT=4000\n# chillfi3-auth')).to.equal(true);
      const env = parseEnv(text);
      expect(env.AUTH_SERVER_URL).to.equal(server.issuer);
      const instance = await server.services.instances.findByClientId(env.AUTH_API_KEY!);
      expect(instance).to.include({ name: 'Music', backchannelLogoutUri: 'https://music.example/auth/backchannel-logout' });
      expect(instance?.redirectUris).to.deep.equal(['https://music.example/auth/callback']);
      expect(instance?.grantTypes).to.deep.equal(['authorization_code', 'refresh_token', 'client_credentials']);

      const auth = createAuthClient({ ...optionsFromEnv(env), logger: null });
      try {
        const serviceToken = await auth.getServiceToken();
        expect((await auth.validateToken(serviceToken, { policy: 'introspect' })).checkedBy).to.equal('introspection');
      } finally {
        auth.close();
      }
      const registration = await fetch(env.AUTH_REGISTRATION_URI!, { headers: { authorization: `Bearer ${env.AUTH_REGISTRATION_TOKEN!}` } });
      expect(registration.status).to.equal(200);
    });

    it('refuses to enrol a server whose .env holds AUTH_API_KEY, and keeps the token unused', async function () {
      const envFile = join(dir, 'enrolled.env');
      await writeFile(envFile, 'AUTH_API_KEY=already\n');
      const unused = await token();
      const answer = await run(['enrol', '--server', server.issuer, '--token', unused, '--url', 'https://music.example', '--env-file', envFile]);
      expect(answer.code).to.equal(EXIT.failed);
      expect(answer.stderr).to.include('enrolled');
      expect(await readFile(envFile, 'utf8')).to.equal('AUTH_API_KEY=already\n');
      expect(await server.services.enrolmentTokens.live(unused)).to.not.equal(null);
    });

    it('says why a used token or a bad address is refused, and writes nothing', async function () {
      const used = await token();
      expect((await run(['enrol', '--server', server.issuer, '--token', used, '--url', 'https://one.example', '--print'])).code).to.equal(EXIT.ok);
      const envFile = join(dir, 'refused.env');
      const again = await run(['enrol', '--server', server.issuer, '--token', used, '--url', 'https://two.example', '--env-file', envFile]);
      expect(again.code).to.equal(EXIT.failed);
      expect(again.stderr).to.include('not valid').and.include('ask an admin');
      const plainHttp = await run(['enrol', '--server', server.issuer, '--token', await token(), '--url', 'http://music.example', '--env-file', envFile]);
      expect(plainHttp.code).to.equal(EXIT.failed);
      expect(plainHttp.stderr).to.include('https');
      await readFile(envFile, 'utf8').then(
        () => expect.fail('nothing is written for a refused enrolment'),
        (error: NodeJS.ErrnoException) => expect(error.code).to.equal('ENOENT'),
      );
    });

    it('answers a usage error with exit 2 and the usage', async function () {
      for (const argv of [[], ['enrol'], ['enrol', '--server', server.issuer, '--token', 't'], ['register', '--server', 'x', '--token', 't', '--url', 'u'], ['enrol', '--bogus']]) {
        const answer = await run(argv);
        expect(answer.code, argv.join(' ')).to.equal(EXIT.usage);
        expect(answer.stderr).to.include('usage: npx @chillfi3/auth-client enrol');
      }
    });
  });
}

describe('sdk: chillfi3Metadata', function () {
  it('names the browser routes on the address, and leaves out the logout URI on loopback http', function () {
    expect(chillfi3Metadata('http://localhost:4000', undefined)).to.deep.include({
      client_name: 'localhost',
      redirect_uris: ['http://localhost:4000/auth/callback'],
      post_logout_redirect_uris: ['http://localhost:4000/'],
    });
    expect(chillfi3Metadata('http://localhost:4000', undefined)).to.not.have.property('backchannel_logout_uri');
    expect(chillfi3Metadata('https://host.example/music/', 'M')).to.deep.include({ redirect_uris: ['https://host.example/music/auth/callback'] });
    expect(() => chillfi3Metadata('javascript:alert(1)', undefined)).to.throw('https');
  });
});
