import type { Adapter, AdapterPayload } from 'oidc-provider';

/** What a store offers every model: the oidc-provider adapter calls, with the model named. */
export interface ModelStore {
  upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(model: string, id: string): Promise<AdapterPayload | undefined>;
  findByUid(model: string, uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<AdapterPayload | undefined>;
  consume(model: string, id: string): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** The oidc-provider Adapter class bound to one store: each instance serves one model. */
export function modelAdapterClass(store: ModelStore): new (name: string) => Adapter {
  return class ModelAdapter implements Adapter {
    constructor(private readonly model: string) {}

    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      return store.upsert(this.model, id, payload, expiresIn);
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      return store.find(this.model, id);
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return store.findByUid(this.model, uid);
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return store.findByUserCode(this.model, userCode);
    }

    consume(id: string): Promise<void> {
      return store.consume(this.model, id);
    }

    destroy(id: string): Promise<void> {
      return store.destroy(this.model, id);
    }

    revokeByGrantId(grantId: string): Promise<void> {
      return store.revokeByGrantId(grantId);
    }
  };
}
