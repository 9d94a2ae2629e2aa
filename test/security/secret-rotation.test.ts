import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { loadConfig } from '../../config/index.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { startServices, type Services } from '../../src/services.js';
import { cliJson } from '../support/cli.js';
import { addAccount, addInstance, authorizationRequest, codeFlow, REDIRECT_URI, type SignedIn } from '../support/fixtures.js';
import type { ScratchDatabase } from '../support/databases.js';
import { BrowserAgent } from '../support/browser-agent.js';
import { enrolTotp } from '../support/mfa.js';
import type { Account } from '../../src/accounts/account-entity.js';
import { BACKENDS, startTestServer } from '../support/test-server.js';

const SECRET_A = 'master-secret-A-0123456789abcdefghijklmnop';
const SECRET_B = 'master-secret-B-0123456789abcdefghijklmnop';

interface Node {
  services: Services;
  stop(): Promise<void>;
}

/** Stops a node without dropping its database: the deployment restarts with other settings. */
async function stop(server: Server, services: Services): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await services.close();
}

/** The server restarted on the same address (the issuer instances know) and database, with `env`. */
async function restart(env: Record<string, string>, port: number): Promise<Node> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const services = await startServices(config, logger, { schema: 'migrate' });
  const server = createServer((await createApp({ services, logger })).callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { services, stop: () => stop(server, services) };
}

/** The SSO session of `agent` still signs it in: straight back to the instance, no sign-in page. */
async function stillSignedIn(client: oidc.Configuration, agent: BrowserAgent): Promise<boolean> {
  const { url } = await authorizationRequest(client, 'openid profile');
  return (await agent.open(url, {}, REDIRECT_URI)).status === 0;
}

for (const backend of BACKENDS.filter((name) => name !== 'postgres')) {
  describe(`master secret rotation (${backend})`, function () {
    let env: Record<string, string>;
    let port: number;
    let database: ScratchDatabase;
    let client: oidc.Configuration;
    let underA: SignedIn;
    let serviceTokenUnderA: string;
    let kids: string[];
    let node: Node | undefined;
    let tess: Account;
    let tessSecret: string;
    before(async function () {
      const first = await startTestServer(backend, { AUTH_SECRET_KEY: SECRET_A });
      ({ env, database } = first);
      port = (first.server.address() as AddressInfo).port;
      await addAccount(first, 'kim');
      tess = await addAccount(first, 'tess');
      tessSecret = await enrolTotp(first, tess);
      ({ client } = await addInstance(first));
      underA = await codeFlow(client, { username: 'kim' });
      serviceTokenUnderA = (await oidc.clientCredentialsGrant(client, { scope: 'openid' })).access_token;
      kids = (await first.services.keys.list()).map((key) => key.kid).sort();
      await stop(first.server, first.services);
    });
    after(async function () {
      await node?.stop();
      await database.drop();
    });

    it('keeps everything working under a new secret with the old one as previous, reseals, then works without it', async function () {
      const rotating = { ...env, AUTH_SECRET_KEY: SECRET_B, AUTH_SECRET_KEY_PREVIOUS: SECRET_A };
      node = await restart(rotating, port);
      expect((await node.services.keys.list()).map((key) => key.kid).sort(), 'the same signing keys, readable').to.deep.equal(kids);
      expect((await oidc.tokenIntrospection(client, underA.tokens.access_token)).active, 'a token issued under A').to.equal(true);
      expect((await oidc.tokenIntrospection(client, serviceTokenUnderA)).active, 'a service token issued under A').to.equal(true);
      const userinfo = await oidc.fetchUserInfo(client, underA.tokens.access_token, underA.tokens.claims()!.sub);
      expect(userinfo.preferred_username).to.equal('kim');
      const sub = underA.tokens.claims()!.sub;
      const profile = await fetch(`${env.AUTH_ISSUER}/users/${sub}`, { headers: { authorization: `Bearer ${underA.tokens.access_token}` } });
      expect(profile.status, 'the user API, with a token issued under A').to.equal(200);
      expect(await stillSignedIn(client, underA.agent), 'the session cookie signed under A').to.equal(true);
      const refreshed = await oidc.refreshTokenGrant(client, underA.tokens.refresh_token!);
      expect(await codeFlow(client, { username: 'kim' }), 'a new sign-in').to.have.property('tokens');

      const count = await cliJson<{ clientSecrets: number; signingKeys: number }>(rotating, ['secrets', 'reseal']);
      expect(count).to.deep.equal({ clientSecrets: 1, signingKeys: kids.length, totpSecrets: 1 });
      expect(await cliJson(rotating, ['secrets', 'reseal']), 'nothing left under A').to.deep.equal({ clientSecrets: 0, signingKeys: 0, totpSecrets: 0 });
      await node.stop();

      node = await restart({ ...env, AUTH_SECRET_KEY: SECRET_B }, port);
      expect((await node.services.keys.list()).map((key) => key.kid).sort()).to.deep.equal(kids);
      const again = await oidc.refreshTokenGrant(client, refreshed.refresh_token!);
      expect((await oidc.tokenIntrospection(client, again.access_token)).active, 'client auth and a new token').to.equal(true);
      expect(await stillSignedIn(client, underA.agent), 'the session cookie, re-signed under B while A was previous').to.equal(true);
      expect((await oidc.clientCredentialsGrant(client, { scope: 'openid' })).access_token).to.be.a('string');
      const [factor] = await node.services.secondFactors.store.withSecrets(tess.id, 'totp');
      expect(await node.services.secrets.open(factor!.secretSealed!, 'totp-secret'), "tess's authenticator app, under B alone").to.equal(tessSecret);
    });
  });
}
