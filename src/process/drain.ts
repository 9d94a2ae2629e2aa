// Closing an HTTP(S) server without dropping a request, under keep-alive load.
//
// Node has the pieces (closeIdleConnections, closeAllConnections) but server.close() alone is not graceful either way:
// it destroys at once every connection whose next request it has not read yet, though the client may have sent it
// already (measured: every busy connection of a keep-alive load reset), and it leaves a connection in use open for as
// long as its client keeps sending. http-terminator destroys idle connections at once too. What this adds is the
// HTTP/1.1 way to end a keep-alive connection without a race, `Connection: close` on its next response, and a short
// grace before the connections that stay idle are closed.
import { Server as NetServer } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * How long a connection idle when the drain starts (or since its keep-alive response ended) keeps its chance to bring
 * the request its client may already have sent; it gets `Connection: close` then. Past it, an idle connection is closed.
 */
const IDLE_GRACE_MS = 250;

export interface DrainableServer {
  server: Server;
  /** Stops accepting connections; resolves once every connection has closed (see closeConnections). */
  stopAccepting(): Promise<void>;
  /** Ends every connection: after the response in flight or the next one (`Connection: close`), or when idle. */
  closeConnections(): void;
}

/** Wraps `server` before it serves, so that the requests in flight when the drain starts are known. */
export function drainable(server: Server): DrainableServer {
  const inFlight = new Set<ServerResponse>();
  let closingConnections = false;
  server.prependListener('request', function closeAfterResponseWhenDraining(_request: IncomingMessage, response: ServerResponse) {
    if (closingConnections) {
      response.setHeader('Connection', 'close');
      return;
    }
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });

  const closeIdleAfterGrace = () => {
    // setImmediate after the timer: the poll phase between them reads requests that arrived meanwhile, so that a
    // connection whose request is merely unread does not count as idle.
    setTimeout(() => setImmediate(() => server.closeIdleConnections()), IDLE_GRACE_MS).unref();
  };

  return {
    server,
    stopAccepting() {
      // net.Server's close, not http.Server's: it stops accepting and calls back once every connection has closed,
      // without http.Server's immediate closeIdleConnections() (the reset race above).
      return new Promise((resolve, reject) => {
        NetServer.prototype.close.call(server, (error) => (error ? reject(error) : resolve()));
      });
    },
    closeConnections() {
      closingConnections = true;
      for (const response of inFlight) {
        if (!response.headersSent) response.setHeader('Connection', 'close');
        // Headers already sent promised keep-alive: the connection is idle once the response ends.
        else response.once('finish', closeIdleAfterGrace);
      }
      closeIdleAfterGrace();
    },
  };
}
