// src/http/oauth-form.ts reads the provider's form bodies before the provider does and hands the parsed form on as the
// request's body, which oidc-provider then reads instead of the stream (lib/shared/selective_body.js); the stages'
// changes to the form (a secret in its grace replaced, a token presented by another id) reach the provider that way.
// It also refuses bodies past the provider's own limit. Both held to the installed provider here.
import Koa from 'koa';
import mount from 'koa-mount';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { oauthForm, readOAuthForm } from '../../src/http/oauth-form.js';
import { ROUTES } from '../../src/provider/routes.js';
import { addInstance } from '../support/fixtures.js';
import { postForm, providerAlone, type ProviderAlone } from '../support/provider-alone.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The provider's limit for these bodies (lib/shared/selective_body.js). */
const PROVIDER_LIMIT = 56 * 1024;

/** A form of exactly `size` bytes asking introspection of an unknown token. */
function formOfSize(size: number, fields: Record<string, string>): string {
  const head = `${new URLSearchParams({ ...fields, token: '!' }).toString()}&pad=`;
  return head + 'x'.repeat(size - head.length);
}

describe('src/http/oauth-form.ts against the installed oidc-provider', function () {
  let server: TestServer;
  let alone: ProviderAlone;
  let staged: Server;
  let stagedUrl: string;
  let instance: Awaited<ReturnType<typeof addInstance>>;

  before(async function () {
    server = await startTestServer('sqlite');
    alone = await providerAlone(server);
    instance = await addInstance(server, { tokenEndpointAuthMethod: 'client_secret_post' });
    // The form read by the stage, then changed by a stage (as the secret grace does), then the provider.
    const app = new Koa();
    app.use(readOAuthForm(() => true));
    app.use((ctx, next) => {
      const form = oauthForm(ctx);
      if (form?.client_secret === 'replace-me') form.client_secret = instance.clientSecret;
      return next();
    });
    app.use(mount(server.services.liveProvider.current));
    staged = createServer(app.callback());
    await new Promise<void>((resolve) => staged.listen(0, '127.0.0.1', resolve));
    stagedUrl = `http://127.0.0.1:${(staged.address() as AddressInfo).port}`;
  });
  after(async function () {
    staged?.closeAllConnections();
    staged?.close();
    await alone?.close();
    await server?.close();
  });

  it('[provider-pin] the provider reads the form the stages read, with their changes', async function () {
    const { clientId } = instance.instance;
    const changed = await postForm(stagedUrl, ROUTES.introspection, { token: '!', client_id: clientId, client_secret: 'replace-me' });
    expect([changed.status, changed.body]).to.deep.equal([200, { active: false }]);
    const unchanged = await postForm(stagedUrl, ROUTES.introspection, { token: '!', client_id: clientId, client_secret: 'wrong' });
    expect([unchanged.status, unchanged.body.error]).to.deep.equal([401, 'invalid_client']);
  });

  it('[provider-pin] refuses a body past the limit the provider itself has, and passes one at it', async function () {
    const credentials = { client_id: instance.instance.clientId, client_secret: instance.clientSecret };
    const atLimit = formOfSize(PROVIDER_LIMIT, credentials);
    const pastLimit = formOfSize(PROVIDER_LIMIT + 1, credentials);
    expect(Buffer.byteLength(atLimit)).to.equal(PROVIDER_LIMIT);

    const ownAtLimit = await postForm(alone.url, ROUTES.introspection, atLimit);
    expect([ownAtLimit.status, ownAtLimit.body], 'the provider at its limit').to.deep.equal([200, { active: false }]);
    const ownPast = await postForm(alone.url, ROUTES.introspection, pastLimit);
    expect([ownPast.status, ownPast.body.error_description], 'the provider past its limit').to.deep.equal([400, 'failed to parse the request body']);

    expect((await postForm(stagedUrl, ROUTES.introspection, atLimit)).body, 'the stage at the limit').to.deep.equal({ active: false });
    expect((await postForm(stagedUrl, ROUTES.introspection, pastLimit)).status, 'the stage past the limit').to.equal(413);
  });
});
