import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpRelay {
  /** The relay's loopback port: connect here instead of to the target. */
  port: number;
  /** Stops passing bytes either way, connections left open: to a client, the target hangs mid-conversation. */
  stall(): void;
  /** Passes bytes again, what was held included. */
  resume(): void;
  /**
   * The next connection's request reaches the target, but the first bytes of its answer close both sides instead of
   * passing, as when a node or a load balancer goes away mid-answer. Resolves once that answer was lost: the target had
   * finished handling the request.
   */
  loseNextAnswer(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Passes what `from` sends on to `to`, each chunk `delayMs` later than it came and in order: a store far away, whose
 * every answer takes at least that long whatever the machine's speed.
 */
function pipeLate(from: Socket, to: Socket, delayMs: number): void {
  let due = 0;
  from.on('data', (chunk: Buffer) => {
    due = Math.max(due, Date.now() + delayMs);
    setTimeout(() => to.write(chunk), due - Date.now());
  });
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, due - Date.now())));
}

/**
 * A TCP relay to `target` on the loopback, for a store that stops answering without closing anything, or an answer lost;
 * with `answerDelayMs`, one whose every answer comes that much later.
 */
export async function tcpRelay(target: { host: string; port: number }, { answerDelayMs = 0 }: { answerDelayMs?: number } = {}): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let stalled = false;
  let answerLost: (() => void) | undefined;
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => [client, upstream].forEach((each) => each.destroy()));
      if (stalled) socket.pause();
    }
    client.pipe(upstream);
    const lost = answerLost;
    answerLost = undefined;
    if (!lost) {
      if (answerDelayMs > 0) pipeLate(upstream, client, answerDelayMs);
      else upstream.pipe(client);
      return;
    }
    upstream.once('data', () => {
      [client, upstream].forEach((each) => each.destroy());
      lost();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall() {
      stalled = true;
      for (const socket of sockets) socket.pause();
    },
    resume() {
      stalled = false;
      for (const socket of sockets) socket.resume();
    },
    loseNextAnswer() {
      return new Promise<void>((resolve) => {
        answerLost = resolve;
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
