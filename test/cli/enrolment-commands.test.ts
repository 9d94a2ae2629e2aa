// The enrolment-token commands against a live test deployment: the token the shell prints registers one instance at
// the running server's registration endpoint, once; listed tokens never show the token; a withdrawn one registers none.
import { expect } from 'chai';
import { durationSeconds } from '../../src/cli/enrolment.js';
import { cli, cliJson } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface Issued {
  token: string;
  expiresAt: string;
  registrationEndpoint: string;
  id: string;
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`enrolment-token commands (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend);
    });
    after(() => server.close());

    const json = <T>(...argv: string[]) => cliJson<T>(server.env, argv);

    function register(endpoint: string, token: string, name: string) {
      return fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: name, redirect_uris: ['https://music.example/auth/callback'] }),
      });
    }

    it('prints a token that registers one instance with the policy it fixes, once', async function () {
      const before = Date.now();
      const issued = await json<Issued>('instances', 'enrollment-token', '--ttl', '2h', '--policy', 'invite');
      expect(issued.registrationEndpoint).to.equal(`${server.issuer}/reg`);
      const lifetime = Date.parse(issued.expiresAt) - before;
      expect(lifetime).to.be.within(7_190_000, 7_210_000);
      const listed = await json<{ enrollmentTokens: Record<string, unknown>[] }>('instances', 'enrollment-tokens');
      expect(listed.enrollmentTokens.map((token) => token.id)).to.include(issued.id);
      expect(JSON.stringify(listed)).to.not.include(issued.token);

      const response = await register(issued.registrationEndpoint, issued.token, 'From the shell');
      expect(response.status).to.equal(201);
      const { client_id: clientId } = (await response.json()) as { client_id: string };
      expect(await server.services.instances.findByClientId(clientId)).to.include({ name: 'From the shell', accessPolicy: 'invite' });
      expect((await register(issued.registrationEndpoint, issued.token, 'Again')).status).to.equal(401);
      const after = await json<{ enrollmentTokens: Record<string, unknown>[] }>('instances', 'enrollment-tokens');
      expect(after.enrollmentTokens.map((token) => token.id)).to.not.include(issued.id);
    });

    it('withdraws a token, audited, and then registers nothing with it', async function () {
      const issued = await json<Issued>('instances', 'enrollment-token');
      const withdrawn = await cli(server.env, ['instances', 'withdraw-enrollment-token', issued.id]);
      expect(withdrawn.code, withdrawn.stderr).to.equal(0);
      expect((await register(issued.registrationEndpoint, issued.token, 'Withdrawn')).status).to.equal(401);
      const again = await cli(server.env, ['instances', 'withdraw-enrollment-token', issued.id]);
      expect(again.code).to.not.equal(0);
      expect(again.stderr).to.include('no unused enrolment token');
      const audit = await server.services.audit.query({ actions: ['instance.enrolment_token_withdrawn'] });
      expect(audit.events[0]?.details).to.include({ enrolment_token: issued.id, via: 'cli' });
    });

    it('refuses a bad --ttl or --policy plainly', async function () {
      const badTtl = await cli(server.env, ['instances', 'enrollment-token', '--ttl', 'soon']);
      expect(badTtl.code).to.not.equal(0);
      expect(badTtl.stderr).to.include('--ttl');
      const tooLong = await cli(server.env, ['instances', 'enrollment-token', '--ttl', '90d']);
      expect(tooLong.code).to.not.equal(0);
      expect(tooLong.stderr).to.include('30 days');
      const badPolicy = await cli(server.env, ['instances', 'enrollment-token', '--policy', 'everyone']);
      expect(badPolicy.code).to.equal(2);
    });
  });
}

describe('durationSeconds', function () {
  it('reads seconds, minutes, hours and days', function () {
    expect([durationSeconds('90'), durationSeconds('90s'), durationSeconds('15m'), durationSeconds('1h'), durationSeconds('7d')]).to.deep.equal([
      90, 90, 900, 3600, 604_800,
    ]);
    expect(() => durationSeconds('1.5h')).to.throw('--ttl');
  });
});
