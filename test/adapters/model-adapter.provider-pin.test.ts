// adapters/model-adapter.ts makes ReplayDetection's `find` the atomic insert-if-absent, relying on how oidc-provider
// checks a jti once (ReplayDetection.unique in lib/models/replay_detection.js): it asks `find` whether the id was seen,
// and only when not saves it. Held to the installed provider: the calls and their order, and the answers.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The adapter calls made (by name) until `stop` is called. */
function recordCalls(adapter: Adapter): { calls: string[]; stop(): void } {
  const calls: string[] = [];
  const names = ['find', 'upsert', 'consume', 'destroy'] as const;
  const originals = names.map((name) => [name, adapter[name]] as const);
  for (const [name, original] of originals) {
    (adapter as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push(name);
      return (original as (...a: unknown[]) => unknown).apply(adapter, args);
    };
  }
  return { calls, stop: () => originals.forEach(([name, original]) => ((adapter as unknown as Record<string, unknown>)[name] = original)) };
}

describe('adapters/model-adapter.ts against the installed oidc-provider', function () {
  let server: TestServer;
  before(async function () {
    server = await startTestServer('sqlite');
  });
  after(() => server?.close());

  it('[provider-pin] ReplayDetection.unique asks find first, and saves only what find did not find', async function () {
    const { ReplayDetection } = server.services.liveProvider.current as unknown as {
      ReplayDetection: { adapter: Adapter; unique(iss: string, jti: string, exp: number): Promise<boolean> };
    };
    const exp = Math.floor(Date.now() / 1000) + 60;
    const jti = randomUUID();
    const recorded = recordCalls(ReplayDetection.adapter);
    try {
      expect(await ReplayDetection.unique('some-client', jti, exp), 'first use').to.equal(true);
      expect(recorded.calls).to.deep.equal(['find', 'upsert']);
      expect(await ReplayDetection.unique('some-client', jti, exp), 'second use').to.equal(false);
      expect(recorded.calls).to.deep.equal(['find', 'upsert', 'find']);
    } finally {
      recorded.stop();
    }
  });
});
