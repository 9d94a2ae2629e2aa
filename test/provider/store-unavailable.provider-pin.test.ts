// src/provider/store-unavailable.ts makes a store failure one of oidc-provider's own errors (extending the exported
// errors.OIDCProviderError, setting its status, expose, error_description and allow_redirect fields), because the
// provider answers anything else its adapters throw as 500 server_error (lib/shared/error_handler.js). Held to the
// installed provider: thrown from an adapter, it is answered 503 temporarily_unavailable with its description, where
// any other error is a 500.
import { expect } from 'chai';
import type { Adapter } from 'oidc-provider';
import { rethrowForProvider } from '../../src/provider/store-unavailable.js';
import { ROUTES } from '../../src/provider/routes.js';
import { addInstance, basicAuth } from '../support/fixtures.js';
import { postForm, serverAndProviderAlone } from '../support/provider-alone.js';

/** Makes `adapter.find` fail with `failure` (through rethrowForProvider, as the adapters do) until `stop` is called. */
function failFinds(adapter: Adapter, failure: Error): { stop(): void } {
  const find = adapter.find.bind(adapter);
  adapter.find = () => Promise.reject(failure).catch(rethrowForProvider);
  return { stop: () => void (adapter.find = find) };
}

describe('src/provider/store-unavailable.ts against the installed oidc-provider', function () {
  const pinned = serverAndProviderAlone();

  it('[provider-pin] the provider answers a store failure from its adapter 503 temporarily_unavailable, any other error 500', async function () {
    const { instance, clientSecret } = await addInstance(pinned.server);
    const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
    const { Client } = pinned.server.services.liveProvider.current;
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const [failure, expected] of [
      [outage, [503, 'temporarily_unavailable', 'the service is temporarily unavailable; try again shortly']],
      [new Error('a bug'), [500, 'server_error', 'oops! something went wrong']],
    ] as const) {
      const failing = failFinds((Client as unknown as { adapter: Adapter }).adapter, failure);
      try {
        const answer = await postForm(pinned.alone.url, ROUTES.introspection, { token: '!' }, auth);
        expect([answer.status, answer.body.error, answer.body.error_description], failure.message).to.deep.equal(expected);
      } finally {
        failing.stop();
      }
    }
  });
});
