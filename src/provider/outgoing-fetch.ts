// The provider's outgoing requests (oidc-provider's `fetch` setting). oidc-provider hands every request a dispatcher
// that refuses connections to special-use addresses (loopback, private, link-local, ...): its guard against
// server-side request forgery. Back-channel logout URIs are the one exception: an admin registers them for an
// instance, and instances usually live on a private network or on the same host as this server. Every other URL the
// provider may be led to fetch keeps the guard.
import type { Configuration } from 'oidc-provider';
import type { InstanceStore } from '../instances/instance-store.js';

export type OutgoingFetch = NonNullable<Configuration['fetch']>;

/** fetch, with oidc-provider's guard dropped for the back-channel logout URIs registered for an instance only. */
export function outgoingFetch(instances: Pick<InstanceStore, 'isBackchannelLogoutUri'>): OutgoingFetch {
  return async function outgoingFetch(input, init) {
    const url = input instanceof Request ? input.url : input.toString();
    if (!(await instances.isBackchannelLogoutUri(url))) return fetch(input, init);
    const { dispatcher: _ssrfGuard, ...unguarded } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
    return fetch(input, unguarded);
  };
}
