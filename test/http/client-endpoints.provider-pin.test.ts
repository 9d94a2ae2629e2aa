// src/http/client-endpoints.ts (conformErrors) rewrites two of oidc-provider's answers into RFC 6749 §5.2's,
// recognising them by the provider's error_description (lib/shared/client_auth.js, lib/actions/token.js). Held to the
// installed provider: it must still answer those two cases with exactly those descriptions, and the app must still
// rewrite them; an upgrade that rewords one makes the rewrite silently stop, and this test fail.
import { expect } from 'chai';
import { CLIENT_ENDPOINTS, GRANT_TYPE_NOT_ALLOWED, NO_CLIENT_AUTHENTICATION } from '../../src/http/client-endpoints.js';
import { ROUTES } from '../../src/provider/routes.js';
import { addInstance, basicAuth } from '../support/fixtures.js';
import { postForm, serverAndProviderAlone } from '../support/provider-alone.js';

/** A request each client endpoint would take, but for the client authentication. */
const FORMS: Readonly<Record<string, Record<string, string>>> = {
  [ROUTES.token]: { grant_type: 'client_credentials' },
  [ROUTES.introspection]: { token: 'x' },
  [ROUTES.revocation]: { token: 'x' },
  [ROUTES.pushed_authorization_request]: { response_type: 'code', redirect_uri: 'http://127.0.0.1:9/callback', scope: 'openid' },
};

describe('src/http/client-endpoints.ts error rewriting against the installed oidc-provider', function () {
  const pinned = serverAndProviderAlone();

  it('[provider-pin] the provider describes a request without client authentication as the stages expect, and they make it 401 invalid_client', async function () {
    for (const path of CLIENT_ENDPOINTS) {
      const own = await postForm(pinned.alone.url, path, FORMS[path]!);
      expect([own.status, own.body.error, own.body.error_description], `${path} from the provider`).to.deep.equal([400, 'invalid_request', NO_CLIENT_AUTHENTICATION]);
      const rewritten = await postForm(pinned.server.url, path, FORMS[path]!);
      expect([rewritten.status, rewritten.body.error], `${path} from the app`).to.deep.equal([401, 'invalid_client']);
    }
  });

  it('[provider-pin] the provider describes a grant type the client may not use as the stages expect, and they make it 400 unauthorized_client', async function () {
    const { instance, clientSecret } = await addInstance(pinned.server, { grantTypes: ['authorization_code', 'refresh_token'] });
    const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
    const own = await postForm(pinned.alone.url, ROUTES.token, { grant_type: 'client_credentials' }, auth);
    expect([own.status, own.body.error, own.body.error_description]).to.deep.equal([400, 'invalid_request', GRANT_TYPE_NOT_ALLOWED]);
    const rewritten = await postForm(pinned.server.url, ROUTES.token, { grant_type: 'client_credentials' }, auth);
    expect([rewritten.status, rewritten.body.error]).to.deep.equal([400, 'unauthorized_client']);
  });
});
