// An instance registering itself (RFC 7591) and managing its own registration (RFC 7592): what oidc-provider's
// registration endpoints store through the Client adapter (adapters/instances.ts) becomes the same instance row an
// admin makes in the console (its secret sealed, its grants, URIs and scopes checked alike), through the same
// operations, each audited as a change by that instance (`via: registration`). The enrolment token is used up only
// when the instance is stored: a registration the store refuses (a name taken meanwhile) gives it back.
import { errors, type ClientMetadata } from 'oidc-provider';
import { AppError } from '../errors.js';
import type { EnrolmentTokens } from '../instances/enrolment-tokens.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { instanceFromMetadata } from '../instances/registration-metadata.js';
import { rethrowForProvider } from '../provider/store-unavailable.js';
import type { Actor } from './account-operations.js';
import type { InstanceOperations } from './instance-operations.js';

/** Who asks, as the registration request shows: the bearer token it carries, and where it came from. */
export interface RegistrationRequest {
  token: string | undefined;
  ip: string | null;
  userAgent: string | null;
}

export interface RegistrationOperationsDependencies {
  enrolmentTokens: EnrolmentTokens;
  instances: InstanceStore;
  instanceOperations: InstanceOperations;
}

function registrant(request: RegistrationRequest): Actor {
  return { accountId: null, via: 'registration', ip: request.ip, userAgent: request.userAgent };
}

/**
 * What the store refuses (a problem with a field, a name taken) as RFC 7591's invalid_client_metadata, said without
 * naming the instance that holds a name; a store failure as the provider's 503; anything else goes on as is.
 */
function asRegistrationError(error: unknown): never {
  if (error instanceof AppError && error.status >= 400 && error.status < 500) {
    const message = error.code === 'conflict' ? error.message.replace(/ \(client id [^)]*\)/, '') : error.message;
    throw new errors.InvalidClientMetadata(message);
  }
  return rethrowForProvider(error);
}

export class RegistrationOperations {
  constructor(private readonly deps: RegistrationOperationsDependencies) {}

  /** Stores a newly registered client as an instance, using up its enrolment token. */
  async register(clientId: string, metadata: ClientMetadata, request: RegistrationRequest): Promise<void> {
    const { enrolmentTokens, instanceOperations } = this.deps;
    const token = request.token === undefined ? null : await enrolmentTokens.redeem(request.token).catch(rethrowForProvider);
    if (!token) throw new errors.InvalidToken('the enrolment token is not valid: unknown, used, expired or withdrawn');
    try {
      const created = await instanceOperations.create(
        { ...instanceFromMetadata(metadata), name: token.name ?? String(metadata.client_name ?? ''), accessPolicy: token.accessPolicy },
        registrant(request),
        { clientId, clientSecret: typeof metadata.client_secret === 'string' ? metadata.client_secret : null, enrolmentTokenId: token.id },
      );
      await enrolmentTokens.settle(token.id, created.instance.id);
    } catch (error) {
      await enrolmentTokens.release(token.id).catch(() => undefined);
      asRegistrationError(error);
    }
  }

  /** Replaces what an instance may set about itself with its new metadata (RFC 7592 update). */
  async update(clientId: string, metadata: ClientMetadata, request: RegistrationRequest): Promise<void> {
    const instance = await this.#instance(clientId);
    await this.deps.instanceOperations.update(instance.id, instanceFromMetadata(metadata), registrant(request)).catch(asRegistrationError);
  }

  /** Removes the instance, as an admin's removal does: its users signed out of it, its grants revoked (RFC 7592 delete). */
  async remove(clientId: string, request: RegistrationRequest): Promise<void> {
    const instance = await this.#instance(clientId);
    await this.deps.instanceOperations.delete(instance.id, registrant(request)).catch(asRegistrationError);
  }

  async #instance(clientId: string) {
    const instance = await this.deps.instances.findByClientId(clientId).catch(rethrowForProvider);
    if (!instance) throw new errors.InvalidToken('client mismatch');
    return instance;
  }
}
