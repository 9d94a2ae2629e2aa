// oidc-provider takes its signing keys once, at construction, and serves them (JWKS) and signs with them (tokens,
// back-channel logout tokens) from then on. When the key set changes (src/keys/key-set-watch.ts) a new provider is
// built with the new keys, and this switches the requests to it: each request runs on the provider current when it
// reached the provider's middleware. Everything a provider keeps lives in the shared stores, never in the instance,
// so the switch loses nothing; requests already running finish on the provider they started with. What signs with
// the keys takes the current provider (this middleware, and back-channel logout through services.provider); code that
// kept the provider it was given at start (the interaction routes, the API's token check) only reads and writes
// artifacts through the shared adapter, which every provider instance does alike.
import mount from 'koa-mount';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';

export class LiveProvider {
  #provider: Provider;
  #middleware: Middleware;

  constructor(provider: Provider) {
    this.#provider = provider;
    this.#middleware = mount(provider);
  }

  /** The provider serving requests now. */
  get current(): Provider {
    return this.#provider;
  }

  replace(provider: Provider): void {
    this.#provider = provider;
    this.#middleware = mount(provider);
  }

  /** The app's provider stage: runs whichever provider is current. */
  middleware(): Middleware {
    const current = () => this.#middleware;
    return function currentProvider(ctx, next) {
      return current()(ctx, next);
    };
  }
}
