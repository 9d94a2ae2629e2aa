// The issuer the server runs under, recorded in the database at every start (src/main.ts), so that the CLI, run from
// another shell with another environment, names the server as the server does (src/cli/server-issuer.ts). The nodes
// of one deployment share AUTH_ISSUER: each start writes the same. A start under another one (the server moved)
// replaces it, and says so in its log.
import type { DataSource, Repository } from 'typeorm';
import { type ServerSetting, ServerSettingEntity } from './server-setting-entity.js';

const ISSUER = 'issuer';

export interface RecordedIssuer {
  issuer: string;
  /** When a start last recorded it. */
  recordedAt: Date;
}

export class IssuerRecord {
  readonly #settings: Repository<ServerSetting>;

  constructor(dataSource: DataSource) {
    this.#settings = dataSource.getRepository(ServerSettingEntity);
  }

  /** The issuer the server last started under; null before its first start. */
  async read(): Promise<RecordedIssuer | null> {
    const row = await this.#settings.findOneBy({ name: ISSUER });
    return row ? { issuer: row.value, recordedAt: row.updatedAt } : null;
  }

  /** Records the issuer this start runs under; the one recorded before, when it was another. */
  async record(issuer: string): Promise<RecordedIssuer | null> {
    const before = await this.read();
    await this.#settings.upsert({ name: ISSUER, value: issuer, updatedAt: new Date() }, ['name']);
    return before !== null && before.issuer !== issuer ? before : null;
  }
}
