// The CLI works beside a server it never calls, often from another shell with another environment: the links it
// prints (set-password links, an instance's AUTH_SERVER_URL) and the logout tokens it sends to instances must carry the
// issuer the server runs under, not a default made from this shell's AUTH_PORT. The server records its issuer at every
// start (src/db/issuer-record.ts); the CLI takes that one, and refuses to run when its own AUTH_ISSUER, set explicitly,
// says otherwise. Before the server's first start nothing is recorded, and the CLI's own issuer stands.
import { ConfigError, type Config } from '../../config/index.js';
import type { RecordedIssuer } from '../db/issuer-record.js';

/** The configuration the CLI runs under: its own, with the issuer the server recorded. */
export function serverConfig(config: Config, recorded: RecordedIssuer | null): Config {
  if (recorded === null || recorded.issuer === config.issuer) return config;
  if (config.issuerSet) {
    throw new ConfigError(
      `invalid configuration:\n  AUTH_ISSUER: ${config.issuer} here, but the server runs under ${recorded.issuer} ` +
        `(recorded at its last start, ${recorded.recordedAt.toISOString()}): unset AUTH_ISSUER to use the server's, ` +
        'or start the server under the new one first',
    );
  }
  return Object.freeze({ ...config, issuer: recorded.issuer });
}
