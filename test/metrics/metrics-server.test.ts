import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../src/logger.js';
import { startMetricsServer } from '../../src/metrics/metrics-server.js';
import { backchannelReceiver } from '../support/backchannel-receiver.js';
import { formAction, hiddenInputs } from '../support/browser-agent.js';
import { addAccount, addInstance, basicAuth, codeFlow, openLoginPage, REDIRECT_URI } from '../support/fixtures.js';
import { freePort } from '../support/free-port.js';
import { scrape, type Scrape } from '../support/prometheus-text.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const silent = createLogger('silent');

describe('metrics', function () {
  it('has no listener when AUTH_METRICS_PORT is unset', async function () {
    const server = await startTestServer('sqlite');
    try {
      expect(await startMetricsServer(loadConfig(server.env), silent, 'process')).to.equal(undefined);
    } finally {
      await server.close();
    }
  });

  describe('after real traffic', function () {
    let server: TestServer;
    let metrics: Server;
    let port: number;
    let start: Scrape;
    let end: Scrape;
    let clientCredentialsStatuses: number[];
    let signInStatuses: number[];

    async function clientCredentials(clientId: string, secret: string): Promise<number> {
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      return response.status;
    }

    before(async function () {
      // One failed sign-in spends the address's budget: the next attempt is refused 429.
      server = await startTestServer('sqlite', { LOGIN_RATE_LIMIT: '1', AUTH_METRICS_PORT: String(await freePort()) });
      metrics = (await startMetricsServer(loadConfig(server.env), silent, 'process'))!;
      port = (metrics.address() as AddressInfo).port;
      start = await scrape(port);

      // An instance with a budget of one call a minute: a token, then 429.
      const budgeted = await addInstance(server, { name: 'Budgeted', rateLimit: 1 });
      clientCredentialsStatuses = [
        await clientCredentials(budgeted.instance.clientId, budgeted.clientSecret),
        await clientCredentials(budgeted.instance.clientId, budgeted.clientSecret),
      ];

      // A successful sign-in through the code flow, then sign-out with back-channel logout to two instances: one
      // that takes it and one that is not listening.
      await addAccount(server, 'carol');
      const receiver = await backchannelReceiver();
      try {
        const listening = await addInstance(server, { name: 'Listening', backchannelLogoutUri: receiver.url });
        const deaf = await addInstance(server, { name: 'Deaf', backchannelLogoutUri: `http://127.0.0.1:${await freePort()}/backchannel` });
        const { agent, tokens } = await codeFlow(listening.client, { username: 'carol' });
        await codeFlow(deaf.client, { agent });
        const endSession = oidc.buildEndSessionUrl(listening.client, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out' });
        const confirm = await agent.open(endSession.toString());
        await agent.open(new URL(formAction(confirm.body), confirm.url).toString(), { form: { ...hiddenInputs(confirm.body), logout: 'yes' } }, 'http://127.0.0.1:9/signed-out');

        // A code that was never issued: the provider refuses the grant.
        await fetch(`${server.issuer}/token`, {
          method: 'POST',
          headers: { authorization: basicAuth(listening.instance.clientId, listening.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: REDIRECT_URI, code_verifier: 'v'.repeat(43) }),
        });

        // A wrong password, then another attempt past the address's budget.
        const first = await openLoginPage(listening.client);
        const second = await openLoginPage(listening.client);
        signInStatuses = [
          (await first.agent.signIn(first.page, 'carol', 'not the password', REDIRECT_URI)).status,
          (await second.agent.signIn(second.page, 'carol', 'not the password', REDIRECT_URI)).status,
        ];
      } finally {
        receiver.server.close();
      }
      await (await fetch(`${server.url}/readyz`)).text();
      end = await scrape(port);
    });
    after(async function () {
      metrics?.close();
      await server?.close();
    });

    it('made the traffic it meant to', function () {
      expect(clientCredentialsStatuses).to.deep.equal([200, 429]);
      expect(signInStatuses).to.deep.equal([200, 429]);
    });

    it('counts requests and their latency by method, route template and status', function () {
      const count = (labels: Record<string, string>) => end.increase(start, 'chillfi3_auth_http_request_duration_seconds_count', labels);
      expect(count({ method: 'POST', route: '/token', status: '200' })).to.be.at.least(3);
      expect(count({ method: 'POST', route: '/token', status: '429' })).to.equal(1);
      expect(count({ method: 'POST', route: '/interaction/:uid/login', status: '429' })).to.equal(1);
      expect(count({ method: 'GET', route: '/readyz', status: '200' })).to.equal(1);
      expect(end.increase(start, 'chillfi3_auth_http_request_duration_seconds_sum', { method: 'POST', route: '/token', status: '200' })).to.be.above(0);
      expect(end.value('chillfi3_auth_http_request_duration_seconds_bucket', { method: 'GET', route: '/readyz', status: '200', le: '+Inf' })).to.be.at.least(1);
      // Templates only: no uid, code or other request value in a route label.
      const routes = end.labelValues('chillfi3_auth_http_request_duration_seconds_count', 'route');
      expect(routes).to.include.members(['/auth', '/auth/:uid', '/interaction/:uid', '/session/end', '/token']);
      // Each segment a lower-case literal or a named parameter (`:accountId`): a uid, code or token never matches.
      for (const route of routes) expect(route).to.match(/^(\/(:[A-Za-z]+|[a-z_.-]*))+$|^unmatched$/);
    });

    it('counts tokens issued by grant type, and refused grants by error', function () {
      expect(end.increase(start, 'chillfi3_auth_tokens_issued_total', { grant_type: 'client_credentials' })).to.equal(1);
      expect(end.increase(start, 'chillfi3_auth_tokens_issued_total', { grant_type: 'authorization_code' })).to.equal(2);
      expect(end.increase(start, 'chillfi3_auth_token_errors_total', { error: 'invalid_grant' })).to.equal(1);
    });

    it('counts sign-ins by outcome and rate-limit refusals by limit', function () {
      expect(end.increase(start, 'chillfi3_auth_sign_ins_total', { outcome: 'success' })).to.equal(1);
      expect(end.increase(start, 'chillfi3_auth_sign_ins_total', { outcome: 'invalid_credentials' })).to.equal(1);
      expect(end.increase(start, 'chillfi3_auth_rate_limited_total', { limit: 'instance' })).to.equal(1);
      expect(end.increase(start, 'chillfi3_auth_rate_limited_total', { limit: 'login' })).to.equal(1);
    });

    it('counts back-channel logout deliveries by outcome', function () {
      expect(end.increase(start, 'chillfi3_auth_backchannel_logouts_total', { outcome: 'success' })).to.equal(1);
      expect(end.increase(start, 'chillfi3_auth_backchannel_logouts_total', { outcome: 'failure' })).to.equal(1);
    });

    it('times the store pings and says the store is up', function () {
      expect(end.increase(start, 'chillfi3_auth_store_ping_duration_seconds_count', { store: 'database' })).to.equal(1);
      expect(end.value('chillfi3_auth_store_up', { store: 'database' })).to.equal(1);
    });

    it("includes prom-client's default process metrics", function () {
      for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
        expect(end.value(name), name).to.be.a('number');
      }
    });

    it('serves /metrics on the metrics port only: the public port answers 404', async function () {
      const publicPort = await fetch(`${server.url}/metrics`);
      expect(publicPort.status).to.equal(404);
      expect(await publicPort.text()).not.to.contain('chillfi3_auth_');
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(404);
      const served = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(served.headers.get('content-type')).to.contain('text/plain');
    });

    it('binds AUTH_METRICS_HOST, the loopback by default', function () {
      expect((metrics.address() as AddressInfo).address).to.equal('127.0.0.1');
    });
  });
});
