// What every command runs with: the streams it prints on, and the configuration and stores, opened only when a
// command needs them, so that help and usage errors never depend on the configuration.
import { userInfo } from 'node:os';
import { loadConfig, type Config } from '../../config/index.js';
import type { Actor } from '../admin/account-operations.js';
import { schemaModeFor } from '../db/data-source.js';
import { createLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import { openStores, type Stores } from '../stores.js';
import { serverConfig } from './server-issuer.js';

/** Where the command reads and writes: the process's own streams, or captured ones in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: AsyncIterable<string | Uint8Array>;
  env: NodeJS.ProcessEnv;
}

/**
 * Starts the server's services on open stores (servicesOn in src/services.ts). Given by the caller rather than
 * imported here: the services load oidc-provider, which warns on loading under a Node.js that is not an LTS release,
 * so the bin imports them only when a command starts them (src/cli.ts) and help and --version print no such warning.
 */
export type ServicesStarter = (stores: Stores, logger: Logger) => Promise<Services>;

/**
 * The operating-system user running the command: their login name, or their uid where the system has no name for it
 * (a container started with a bare --user).
 */
function shellUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

/** Who the audit trail records for what a shell does: no account, the command line, and who ran it there. */
export const OPERATOR: Actor = { accountId: null, via: 'cli', osUser: shellUser() };

export class CliContext {
  #config: Config | undefined;

  constructor(
    readonly io: CliIo,
    private readonly startServices: ServicesStarter,
  ) {}

  /** The configuration from io.env, loaded on first use (a bad one throws ConfigError: exit 78). */
  config(): Config {
    return (this.#config ??= loadConfig(this.io.env));
  }

  /**
   * Opens the stores for one command and closes them after. The embedded SQLite file is migrated on the spot, as the
   * server does; a PostgreSQL database must have been migrated with `chillfi3-auth migrate`.
   */
  async withStores<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    const stores = await this.#openStores();
    try {
      return await work(stores);
    } finally {
      await stores.close();
    }
  }

  /**
   * Starts the server's services (the stores and the provider, without listening) for one command and stops them
   * after: what a command needs to end sessions, with back-channel logout to the instances, as the server would.
   * Quiet: the command's output is its own.
   */
  async withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
    const stores = await this.#openStores();
    const services = await this.startServices(stores, createLogger('silent')).catch(async (error: unknown) => {
      await stores.close();
      throw error;
    });
    try {
      return await work(services);
    } finally {
      await services.close();
    }
  }

  /** The stores, under the issuer the server runs under (src/cli/server-issuer.ts). */
  async #openStores(): Promise<Stores> {
    const config = this.config();
    const stores = await openStores(config, { schema: schemaModeFor(config.database) });
    try {
      return { ...stores, config: serverConfig(config, await stores.issuerRecord.read()) };
    } catch (error) {
      await stores.close();
      throw error;
    }
  }
}
