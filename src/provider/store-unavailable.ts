// How a store failure reaches oidc-provider's clients. The provider catches whatever its adapters and hooks (findAccount,
// extraTokenClaims, ...) throw and answers anything that is not one of its own errors as 500 server_error, so the code
// it calls rethrows store failures as the provider error below.
import { errors } from 'oidc-provider';
import { isStoreFailure } from '../db/store-failure.js';
import { StoreUnavailable } from '../errors.js';

/**
 * StoreUnavailable as oidc-provider's error handlers answer it: 503 `temporarily_unavailable` JSON (RFC 6749 §5.2
 * style), or for a browser the page of renderError (provider/provider-pages.ts). Never redirected to the instance: its
 * user would land on that instance's error page instead of ours, which says to try again shortly.
 */
export class ProviderStoreUnavailable extends errors.OIDCProviderError {
  override allow_redirect = false;

  constructor(unavailable: StoreUnavailable) {
    super(unavailable.status, unavailable.code, { cause: unavailable });
    this.expose = true;
    this.error_description = unavailable.message;
  }
}

/** For `.catch()` in code the provider calls: a store failure becomes ProviderStoreUnavailable, the rest goes on as is. */
export function rethrowForProvider(error: unknown): never {
  if (isStoreFailure(error) && !(error instanceof ProviderStoreUnavailable)) {
    throw new ProviderStoreUnavailable(error instanceof StoreUnavailable ? error : new StoreUnavailable(error));
  }
  throw error;
}
