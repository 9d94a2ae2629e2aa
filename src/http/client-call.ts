// What the client-endpoint stages (client-endpoints.ts) learnt of the calling client, kept on the request for the
// stages after them and for the access log.
import type { Context } from 'koa';
import type { InstanceWithSecret } from '../instances/instance-store.js';
import type { CredentialVerdict } from '../security/client-credentials.js';

export interface ClientCall {
  clientId: string;
  found: InstanceWithSecret | null;
  /** 'unknown': no instance has this client_id. */
  verdict: CredentialVerdict | 'unknown';
  /**
   * The instance's secret, presented the way it is registered for and alone (settledBySecret): this request is
   * authenticated as `found` with nothing left for the provider to check.
   */
  settled: boolean;
  failureCounted: boolean;
}

export function clientCallOf(ctx: Context): ClientCall | undefined {
  return (ctx.state as { clientCall?: ClientCall }).clientCall;
}

export function setClientCall(ctx: Context, call: ClientCall): void {
  (ctx.state as { clientCall?: ClientCall }).clientCall = call;
}

/** The instance a settled call authenticated as; undefined when the provider must authenticate the client itself. */
export function settledInstance(ctx: Context): InstanceWithSecret | undefined {
  const call = clientCallOf(ctx);
  return call?.settled ? (call.found ?? undefined) : undefined;
}
