/**
 * Instances that register themselves (RFC 7591) with an enrolment token, and manage their own registration (RFC 7592)
 * with the registration access token they are handed: on every store, the token single-use under 20 concurrent
 * registrations, and every bad input refused with the RFC's error, never a 5xx.
 */
import { expect } from 'chai';
import { EnrolmentTokenEntity } from '../../src/instances/enrolment-token-entity.js';
import { InstanceEntity } from '../../src/instances/instance-entity.js';
import type { EnrolmentTerms } from '../../src/instances/enrolment-tokens.js';
import { basicAuth } from '../support/fixtures.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/test-server.js';

const OPERATOR = { accountId: null, via: 'cli', osUser: 'test' } as const;

function metadata(name: string, extra: Record<string, unknown> = {}) {
  return {
    client_name: name,
    redirect_uris: ['https://music.example/auth/callback'],
    post_logout_redirect_uris: ['https://music.example/'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    ...extra,
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function send(server: TestServer, method: string, path: string, token: string | null, body?: unknown): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const register = (server: TestServer, token: string | null, body: unknown) => send(server, 'POST', '/reg', token, body);

for (const backend of BACKENDS) {
  describe(`instance self-registration (${backend})`, function () {
    let server: TestServer;
    let second: TestServer | undefined;

    before(async function () {
      server = await startTestServer(backend);
      if (backend !== 'sqlite') second = await startTestServer(backend, {}, { join: server });
    });

    after(async function () {
      await second?.close();
      await server?.close();
    });

    async function enrolmentToken(terms: EnrolmentTerms = {}): Promise<string> {
      return (await server.services.enrolmentOperations.issue(terms, OPERATOR)).token;
    }

    it('registers an instance like one made in the console: sealed secret, its grants, a working client', async function () {
      const token = await enrolmentToken({ accessPolicy: 'invite' });
      const answer = await register(server, token, metadata('Music at home'));
      expect(answer.status).to.equal(201);
      const { client_id: clientId, client_secret: clientSecret } = answer.body as { client_id: string; client_secret: string };
      expect(answer.body.registration_access_token).to.be.a('string');
      expect(answer.body.registration_client_uri).to.equal(`${server.issuer}/reg/${clientId}`);
      const instance = await server.services.instances.findByClientId(clientId);
      expect(instance).to.include({ name: 'Music at home', accessPolicy: 'invite', tokenEndpointAuthMethod: 'client_secret_basic' });
      expect(instance?.grantTypes).to.deep.equal(['authorization_code', 'refresh_token', 'client_credentials']);
      const row = await server.services.dataSource
        .getRepository(InstanceEntity)
        .createQueryBuilder('instance')
        .addSelect('instance.secretEncrypted')
        .where('instance.clientId = :clientId', { clientId })
        .getOneOrFail();
      expect(row.secretEncrypted).to.be.a('string').and.not.include(clientSecret);
      // The secret it was handed works at the token endpoint.
      const tokenResponse = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      expect(tokenResponse.status).to.equal(200);
      const stored = await server.services.dataSource.getRepository(EnrolmentTokenEntity).findOneByOrFail({ instanceId: instance!.id });
      expect(stored.usedAt).to.be.instanceOf(Date);
      const audit = await server.services.audit.query({ instanceId: instance!.id, actions: ['instance.created'] });
      expect(audit.events[0]?.details).to.include({ via: 'registration', by: null, enrolment_token: stored.id });
    });

    it('advertises the registration endpoint in discovery', async function () {
      const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery.registration_endpoint).to.equal(`${server.issuer}/reg`);
    });

    it('lets one of 20 concurrent registrations with one token win, on two nodes where there are two', async function () {
      const token = await enrolmentToken();
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, position) => register(position % 2 === 1 && second ? second : server, token, metadata(`Racer ${position}`))),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses.filter((status) => status === 201)).to.have.length(1);
      expect(statuses.filter((status) => status === 401)).to.have.length(19);
      for (const answer of answers.filter(({ status }) => status === 401)) expect(answer.body.error).to.equal('invalid_token');
      const racers = (await server.services.instances.list()).filter((instance) => instance.name.startsWith('Racer '));
      expect(racers).to.have.length(1);
    });

    it('refuses a forged, a reused, an expired and a withdrawn token, and none at all', async function () {
      expect((await register(server, 'cf3e_forged', metadata('Forged'))).status).to.equal(401);
      // No initial access token where one is required: 401 (RFC 7591 §3, RFC 6750 §3.1).
      expect((await register(server, null, metadata('Nobody'))).status).to.equal(401);
      const used = await enrolmentToken();
      expect((await register(server, used, metadata('First use'))).status).to.equal(201);
      const reused = await register(server, used, metadata('Second use'));
      expect(reused).to.deep.include({ status: 401 });
      expect(reused.body.error).to.equal('invalid_token');

      const expiring = await server.services.enrolmentOperations.issue({}, OPERATOR);
      await server.services.dataSource.getRepository(EnrolmentTokenEntity).update({ id: expiring.id }, { expiresAt: new Date(Date.now() - 1000) });
      expect((await register(server, expiring.token, metadata('Too late'))).status).to.equal(401);

      const withdrawn = await server.services.enrolmentOperations.issue({}, OPERATOR);
      await server.services.enrolmentOperations.withdraw(withdrawn.id, OPERATOR);
      expect((await register(server, withdrawn.token, metadata('Withdrawn'))).status).to.equal(401);
      const names = (await server.services.instances.list()).map((instance) => instance.name);
      expect(names).to.include('First use').and.not.include.members(['Second use', 'Too late', 'Withdrawn', 'Forged']);
    });

    const refusals: [string, Record<string, unknown>, string][] = [
      ['a javascript: redirect URI', { redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
      ['an http redirect URI off loopback', { redirect_uris: ['http://music.example/callback'] }, 'invalid_redirect_uri'],
      ['too many redirect URIs', { redirect_uris: Array.from({ length: 11 }, (_, n) => `https://music.example/${n}`) }, 'invalid_redirect_uri'],
      ['a huge redirect URI', { redirect_uris: [`https://music.example/${'a'.repeat(3000)}`] }, 'invalid_redirect_uri'],
      ['a huge name', { client_name: 'n'.repeat(5000) }, 'invalid_client_metadata'],
      ['a name too long for an instance', { client_name: 'n'.repeat(101) }, 'invalid_client_metadata'],
      ['an unknown grant type', { grant_types: ['password'] }, 'invalid_client_metadata'],
      ['the device grant', { grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] }, 'invalid_client_metadata'],
      ['the admin scope the token does not allow', { scope: 'openid admin' }, 'invalid_client_metadata'],
      ['an http post-logout URI off loopback', { post_logout_redirect_uris: ['http://music.example/'] }, 'invalid_client_metadata'],
      ['a response type other than code', { response_types: ['id_token'] }, 'invalid_client_metadata'],
      ['a back-channel logout URI that is not https', { backchannel_logout_uri: 'http://10.0.0.1/logout' }, 'invalid_client_metadata'],
      ['a back-channel logout URI on loopback http', { backchannel_logout_uri: 'http://127.0.0.1:8080/logout' }, 'invalid_client_metadata'],
      ['a jwks_uri on loopback http', { jwks_uri: 'http://localhost/jwks', token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
    ];
    for (const [what, extra, error] of refusals) {
      it(`refuses ${what} (${error}) and keeps the token`, async function () {
        const token = await enrolmentToken();
        const answer = await register(server, token, metadata(`Refused ${what}`, extra));
        expect(answer.status).to.equal(400);
        expect(answer.body.error).to.equal(error);
        expect(await server.services.enrolmentTokens.live(token), 'the token still works').to.not.equal(null);
      });
    }

    it('accepts http redirect URIs on loopback, and the admin scope when the token allows it', async function () {
      const token = await enrolmentToken({ allowAdmin: true });
      const answer = await register(
        server,
        token,
        metadata('Local admin console', { redirect_uris: ['http://localhost:3000/callback', 'http://127.0.0.1:3000/cb'], scope: 'openid profile admin' }),
      );
      expect(answer.status).to.equal(201);
      expect(answer.body.scope).to.equal('openid profile admin');
    });

    it('names the instance as the token says, and refuses a name another instance holds', async function () {
      const fixed = await enrolmentToken({ name: 'The name the admin chose' });
      const answer = await register(server, fixed, metadata('What it asks'));
      expect(answer.status).to.equal(201);
      expect(answer.body.client_name).to.equal('The name the admin chose');
      expect((await server.services.instances.findByClientId(answer.body.client_id as string))?.name).to.equal('The name the admin chose');

      const token = await enrolmentToken();
      const taken = await register(server, token, metadata('the name the admin chose'));
      expect(taken.status).to.equal(400);
      expect(taken.body.error).to.equal('invalid_client_metadata');
      expect(taken.body.error_description).to.not.include(answer.body.client_id as string);
      expect(await server.services.enrolmentTokens.live(token), 'the token was given back').to.not.equal(null);
    });

    it('lets an instance read, update and remove its own registration, audited as its own changes', async function () {
      const created = await register(server, await enrolmentToken(), metadata('Managed'));
      const { client_id: clientId, registration_access_token: rat } = created.body as { client_id: string; registration_access_token: string };
      const read = await send(server, 'GET', `/reg/${clientId}`, rat);
      expect(read.status).to.equal(200);
      expect(read.body.client_name).to.equal('Managed');

      const { registration_access_token: _r, registration_client_uri: _u, client_id_issued_at: _i, client_secret_expires_at: _e, ...current } = read.body;
      const updated = await send(server, 'PUT', `/reg/${clientId}`, rat, {
        ...current,
        redirect_uris: ['https://music.example/new-callback'],
      });
      expect(updated.status).to.equal(200);
      const instance = await server.services.instances.findByClientId(clientId);
      expect(instance?.redirectUris).to.deep.equal(['https://music.example/new-callback']);
      const audit = await server.services.audit.query({ instanceId: instance!.id, actions: ['instance.updated'] });
      expect(audit.events[0]?.details).to.include({ via: 'registration' });

      const badUpdate = await send(server, 'PUT', `/reg/${clientId}`, rat, { ...current, redirect_uris: ['javascript:alert(1)'] });
      expect(badUpdate.status).to.equal(400);
      expect(badUpdate.body.error).to.equal('invalid_redirect_uri');
      const adminUpdate = await send(server, 'PUT', `/reg/${clientId}`, rat, { ...current, scope: 'openid admin' });
      expect(adminUpdate.body.error).to.equal('invalid_client_metadata');

      const removed = await send(server, 'DELETE', `/reg/${clientId}`, rat);
      expect(removed.status).to.equal(204);
      expect(await server.services.instances.findByClientId(clientId)).to.equal(null);
      const deleted = await server.services.audit.query({ instanceId: instance!.id, actions: ['instance.deleted'] });
      expect(deleted.events[0]?.details).to.include({ via: 'registration' });
    });

    it('lets an instance rotate its own secret with its registration access token, the old one in its grace', async function () {
      const created = await register(server, await enrolmentToken(), metadata('Rotating'));
      const { client_id: clientId, client_secret: oldSecret, registration_access_token: rat } = created.body as { client_id: string; client_secret: string; registration_access_token: string };
      const rotated = await send(server, 'POST', `/reg/${clientId}/secret`, rat);
      expect(rotated.status).to.equal(200);
      expect(rotated.body.client_secret).to.be.a('string').and.not.equal(oldSecret);
      const tokenStatus = async (secret: string) =>
        (
          await fetch(`${server.url}/token`, {
            method: 'POST',
            headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'client_credentials' }),
          })
        ).status;
      expect(await tokenStatus(rotated.body.client_secret as string)).to.equal(200);
      expect(await tokenStatus(oldSecret), 'the old secret, in its grace').to.equal(200);
      expect(rotated.body.previous_secret_expires_at).to.be.a('number');
      const instance = await server.services.instances.findByClientId(clientId!);
      const audit = await server.services.audit.query({ instanceId: instance!.id, actions: ['instance.secret_rotated'] });
      expect(audit.events[0]?.details).to.include({ via: 'registration' });
      const other = await register(server, await enrolmentToken(), metadata('Not rotating'));
      const stolen = await send(server, 'POST', `/reg/${clientId}/secret`, other.body.registration_access_token as string);
      expect(stolen.status).to.equal(401);
      expect((await send(server, 'POST', `/reg/${clientId}/secret`, null)).status).to.equal(401);
      expect((await send(server, 'GET', `/reg/${clientId}/secret`, rat)).status).to.equal(405);
    });

    it("refuses a registration access token for another instance's registration, and a forged one", async function () {
      const one = await register(server, await enrolmentToken(), metadata('One'));
      const other = await register(server, await enrolmentToken(), metadata('Other'));
      const stolen = await send(server, 'GET', `/reg/${one.body.client_id as string}`, other.body.registration_access_token as string);
      expect(stolen.status).to.equal(401);
      expect(stolen.body.error).to.equal('invalid_token');
      expect((await send(server, 'GET', `/reg/${one.body.client_id as string}`, 'forged')).status).to.equal(401);
      expect((await send(server, 'DELETE', `/reg/${one.body.client_id as string}`, 'forged')).status).to.equal(401);
    });

    it('answers a body that is not JSON, or not an object, with a 400', async function () {
      const token = await enrolmentToken();
      const response = await fetch(`${server.url}/reg`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{not json',
      });
      expect(response.status).to.equal(400);
      expect((await register(server, token, ['a list'])).status).to.equal(400);
    });
  });
}
