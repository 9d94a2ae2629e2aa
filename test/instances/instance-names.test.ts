// Instance names are unique as people read them: the admin API (problem+json 409), the CLI (a message naming the
// holder) and the console (test/web/admin-instances.test.ts) refuse a name another instance has, after trimming, in
// any case and in any Unicode spelling; the database's unique index decides between concurrent registrations.
import { expect } from 'chai';
import { instanceNameKey } from '../../src/instances/instance-name.js';
import { ADMIN_SCOPE, DEFAULT_SCOPES } from '../../src/instances/instance-store.js';
import { cli } from '../support/cli.js';
import { addAccount, addInstance, codeFlow, REDIRECT_URI } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

describe('instance names as compared', function () {
  it('reads alike what looks alike: case, spacing, full-width letters, NFC and NFD, ligatures, invisible characters', function () {
    const same: [string, string][] = [
      ['Living room', '  LIVING ROOM '],
      ['Living room', 'Living \t room'],
      ['Living room', 'Ｌｉｖｉｎｇ\u3000ｒｏｏｍ'],
      ['Émile', 'E\u0301mile'],
      ['Straße', 'STRASSE'],
      ['office', 'o\uFB03ce'],
      ['Living room', 'Liv\u200Bing room'],
    ];
    for (const [one, other] of same) expect(instanceNameKey(other), `${one} / ${other}`).to.equal(instanceNameKey(one));
    expect(instanceNameKey('Living room 2')).to.not.equal(instanceNameKey('Living room'));
  });
});

for (const backend of BACKENDS) {
  describe(`unique instance names (${backend})`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let adminToken: string;

    before(async function () {
      server = await startTestServer(backend);
      const console_ = await addInstance(server, { scopes: [...DEFAULT_SCOPES.split(' '), ADMIN_SCOPE] });
      await addAccount(server, 'root', { isAdmin: true });
      adminToken = (await codeFlow(console_.client, { username: 'root', scope: `openid ${ADMIN_SCOPE}` })).tokens.access_token;
    });
    after(() => server?.close());

    function api(method: string, path: string, body: unknown): Promise<Response> {
      return fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    }

    function register(name: string): Promise<Response> {
      return api('POST', '/admin/instances', { name, redirectUris: [REDIRECT_URI] });
    }

    async function namedLike(name: string) {
      const key = instanceNameKey(name);
      return (await server.services.instances.list()).filter((instance) => instanceNameKey(instance.name) === key);
    }

    it('the admin API refuses a taken name with problem+json 409, on registering and on renaming', async function () {
      const first = await register('Kitchen');
      expect(first.status).to.equal(201);
      const { instance: kitchen } = (await first.json()) as { instance: { id: string; clientId: string } };

      for (const name of ['Kitchen', ' kitchen ', 'ＫＩＴＣＨＥＮ']) {
        const again = await register(name);
        expect(again.status, name).to.equal(409);
        expect(again.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const problem = (await again.json()) as { detail: string };
        expect(problem.detail).to.contain('an instance named "Kitchen" exists already').and.contain(kitchen.clientId);
      }

      const other = await register('Pantry');
      const { instance: pantry } = (await other.json()) as { instance: { id: string } };
      const renamed = await api('PATCH', `/admin/instances/${pantry.id}`, { name: 'KITCHEN' });
      expect(renamed.status).to.equal(409);
      expect((await server.services.instances.get(pantry.id)).name).to.equal('Pantry');
      const ownName = await api('PATCH', `/admin/instances/${kitchen.id}`, { name: 'kitchen' });
      expect(ownName.status, 'an instance may change the case of its own name').to.equal(200);
      expect(await namedLike('Kitchen')).to.have.length(1);
    });

    it('the CLI refuses a taken name with a message naming the instance that has it', async function () {
      const first = await cli(server.env, ['instances', 'add', '--name', 'Garage', '--redirect-uri', REDIRECT_URI]);
      expect(first.code, first.stderr).to.equal(0);
      const holder = (await namedLike('Garage'))[0]!;
      const again = await cli(server.env, ['instances', 'add', '--name', 'garage ', '--redirect-uri', REDIRECT_URI]);
      expect(again.code).to.equal(73);
      expect(again.stderr).to.equal(`error: an instance named "Garage" exists already (client id ${holder.clientId}): pick another name\n`);
      const other = await cli(server.env, ['instances', 'add', '--name', 'Shed', '--redirect-uri', REDIRECT_URI, '--json']);
      const shed = (JSON.parse(other.stdout) as { instance: { id: string } }).instance;
      const rename = await cli(server.env, ['instances', 'update', shed.id, '--name', 'GARAGE']);
      expect(rename.code).to.equal(73);
      expect(rename.stderr).to.contain('an instance named "Garage" exists already');
      expect(await namedLike('Garage')).to.have.length(1);
    });

    it('of 20 parallel registrations of one name exactly one succeeds, the others get 409', async function () {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => register(n % 2 === 0 ? 'Race' : ' RACE')));
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 201)).to.have.length(1);
      expect(statuses.filter((status) => status === 409)).to.have.length(19);
      expect(await namedLike('Race')).to.have.length(1);
    });
  });
}
