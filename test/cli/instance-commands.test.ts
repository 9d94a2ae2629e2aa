// The instance commands over an instance's whole life, against the stores of a live test deployment: what the shell
// does reaches the running server (a rotated secret, an update, a deletion).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import { cli, cliJson } from '../support/cli.js';
import { addAccount, basicAuth, codeFlow, REDIRECT_URI } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface InstanceView {
  id: string;
  clientId: string;
  name: string;
  rateLimit: number | null;
  ipAllowlist: string[];
  tokenEndpointAuthMethod: string;
  rotationGraceEndsAt: string | null;
}

for (const backend of ['sqlite', 'postgres+redis'] as const) {
  describe(`instance commands (${backend})`, function () {
    let server: TestServer;
    before(async function () {
      server = await startTestServer(backend, { CLIENT_SECRET_GRACE_SECONDS: '3600' });
    });
    after(() => server.close());

    const run = (...argv: string[]) => cli(server.env, argv);
    const json = <T>(...argv: string[]) => cliJson<T>(server.env, argv);

    async function tokenStatus(clientId: string, secret: string): Promise<number> {
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      return response.status;
    }

    it('registers, shows, updates, rotates the secret of and deletes an instance', async function () {
      this.timeout(30_000);
      const added = await json<{ instance: InstanceView; clientSecret: string }>(
        'instances', 'add', '--name', 'Shell', '--redirect-uri', REDIRECT_URI, '--grant-types', 'authorization_code,refresh_token,client_credentials',
        '--skip-consent',
      );
      const { id, clientId } = added.instance;
      expect(await tokenStatus(clientId, added.clientSecret)).to.equal(200);
      expect((await json<{ instance: InstanceView }>('instances', 'show', clientId)).instance).to.include({ id, name: 'Shell' });
      const shown = await run('instances', 'show', id);
      expect(shown.stdout).to.match(/^name +Shell$/m);
      expect(shown.stdout).to.not.contain(added.clientSecret);

      const updated = await json<{ instance: InstanceView }>('instances', 'update', id, '--name', 'Shell 2', '--rate-limit', '100', '--ip-allow', '127.0.0.1/32');
      expect(updated.instance).to.include({ name: 'Shell 2', rateLimit: 100 });
      expect(updated.instance.ipAllowlist).to.deep.equal(['127.0.0.1/32']);
      const cleared = await json<{ instance: InstanceView }>('instances', 'update', id, '--no-rate-limit', '--no-ip-allow');
      expect(cleared.instance).to.include({ rateLimit: null });
      expect(cleared.instance.ipAllowlist).to.deep.equal([]);
      expect((await run('instances', 'update', id)).code).to.equal(65);
      expect((await run('instances', 'update', id, '--grant-types', 'password')).code).to.equal(65);

      const rotated = await json<{ clientSecret: string; previousSecretExpiresAt: string }>('instances', 'rotate-secret', clientId);
      expect(new Date(rotated.previousSecretExpiresAt).getTime()).to.be.closeTo(Date.now() + 3600_000, 60_000);
      expect(await tokenStatus(clientId, added.clientSecret)).to.equal(200);
      // The server, another process, reads the instance again within 10 seconds; then both secrets work.
      const deadline = Date.now() + 11_000;
      while ((await tokenStatus(clientId, rotated.clientSecret)) !== 200) {
        expect(Date.now()).to.be.below(deadline);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(await tokenStatus(clientId, added.clientSecret)).to.equal(200);

      const client = await oidc.discovery(new URL(server.issuer), clientId, rotated.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
      await addAccount(server, 'shell-instance-user');
      const signIn = await codeFlow(client, { username: 'shell-instance-user', scope: 'openid offline_access' });
      const deleted = await json<{ deleted: string; sessions: number; grants: number }>('instances', 'delete', clientId);
      expect(deleted).to.deep.equal({ deleted: id, sessions: 1, grants: 1 });
      const { provider } = server.services;
      expect(await provider.RefreshToken.find(signIn.tokens.refresh_token as string)).to.equal(undefined);
      expect((await run('instances', 'show', id)).code).to.equal(66);
      const [entry] = (await server.services.audit.query({ instanceId: id, actions: ['instance.*'] })).events;
      expect(entry).to.include({ action: 'instance.deleted' });
      expect(entry?.details).to.include({ via: 'cli', sessions: 1, grants: 1 });
    });

    it('registers an instance that authenticates by private_key_jwt with a JWKS file', async function () {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      const file = join(tmpdir(), `jwks-${process.pid}-${backend}.json`);
      await writeFile(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'shell-key', alg: 'ES256' }] }));
      const added = await json<{ instance: InstanceView; clientSecret: string | null }>(
        'instances', 'add', '--name', 'Keyed', '--grant-types', 'client_credentials', '--auth-method', 'private_key_jwt', '--jwks-file', file,
      );
      expect(added.clientSecret).to.equal(null);
      const client = await oidc.discovery(new URL(server.issuer), added.instance.clientId, undefined, oidc.PrivateKeyJwt({ key: privateKey, kid: 'shell-key' }), {
        execute: [oidc.allowInsecureRequests],
      });
      expect((await oidc.clientCredentialsGrant(client)).access_token).to.be.a('string');
      expect((await run('instances', 'rotate-secret', added.instance.id)).code).to.equal(65);
    });
  });
}
