import type { Server } from 'node:http';

/** Resolves once `server` listens; rejects with the reason it cannot (e.g. EADDRINUSE) instead of crashing. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
