import { type MigrationInterface, type QueryRunner, Table, TableIndex, TableForeignKey } from 'typeorm';
import type { TableColumnOptions } from 'typeorm/schema-builder/options/TableColumnOptions.js';

// Written with the QueryRunner Table API so the same migration runs on PostgreSQL and SQLite.
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    const at = (name: string, nullable = true): TableColumnOptions => ({ name, type: timestamp, isNullable: nullable });
    const created = (name: string): TableColumnOptions => ({ name, type: timestamp, default: now });
    const text = (name: string, length?: number, nullable = false): TableColumnOptions =>
      length ? { name, type: 'varchar', length: String(length), isNullable: nullable } : { name, type: 'text', isNullable: nullable };

    await queryRunner.createTable(
      new Table({
        name: 'accounts',
        columns: [
          { ...text('id', 36), isPrimary: true },
          text('username', 50),
          { ...text('username_key', 50), isUnique: true },
          text('display_name', 100, true),
          text('email', 255, true),
          text('password_hash', 255, true),
          { name: 'is_admin', type: 'boolean', default: false },
          { name: 'disabled', type: 'boolean', default: false },
          { name: 'failed_logins', type: 'integer', default: 0 },
          at('locked_until'),
          text('bio', undefined, true),
          text('picture', 255, true),
          created('created_at'),
          created('updated_at'),
          at('last_login_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'server_instances',
        columns: [
          { ...text('id', 36), isPrimary: true },
          text('name', 100),
          { ...text('client_id', 64), isUnique: true },
          text('secret_encrypted', undefined, true),
          text('previous_secret_encrypted', undefined, true),
          at('previous_secret_expires_at'),
          text('redirect_uris'),
          text('post_logout_redirect_uris'),
          text('backchannel_logout_uri', 2048, true),
          text('grant_types'),
          text('scopes', 1000),
          text('token_endpoint_auth_method', 40),
          text('jwks', undefined, true),
          text('ip_allowlist'),
          { name: 'rate_limit', type: 'integer', isNullable: true },
          { ...text('access_policy', 10), default: "'open'" },
          { name: 'skip_consent', type: 'boolean', default: false },
          created('created_at'),
          created('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'instance_access',
        columns: [
          { ...text('instance_id', 36), isPrimary: true },
          { ...text('account_id', 36), isPrimary: true },
          { ...text('role', 10), default: "'member'" },
          { name: 'local_user_id', type: 'integer', isNullable: true },
          created('created_at'),
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['instance_id'],
            referencedTableName: 'server_instances',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            columnNames: ['account_id'],
            referencedTableName: 'accounts',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [new TableIndex({ name: 'instance_access_account', columnNames: ['account_id'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          { ...text('kid', 64), isPrimary: true },
          text('alg', 16),
          text('private_jwk_encrypted'),
          text('state', 10),
          created('created_at'),
          at('activated_at'),
          at('retired_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'auth_audit',
        columns: [
          { ...text('id', 36), isPrimary: true },
          at('at', false),
          text('action', 64),
          text('outcome', 16),
          text('account_id', 36, true),
          text('instance_id', 64, true),
          text('ip', 64, true),
          text('user_agent', 512, true),
          text('details', undefined, true),
        ],
        indices: [
          new TableIndex({ name: 'auth_audit_at', columnNames: ['at'] }),
          new TableIndex({ name: 'auth_audit_account', columnNames: ['account_id', 'at'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'oidc_models',
        columns: [
          { ...text('model', 64), isPrimary: true },
          { ...text('id', 255), isPrimary: true },
          text('payload'),
          text('grant_id', 255, true),
          text('uid', 255, true),
          text('user_code', 255, true),
          text('account_id', 255, true),
          at('expires_at'),
          at('consumed_at'),
        ],
        indices: [
          new TableIndex({ name: 'oidc_models_grant', columnNames: ['grant_id'] }),
          new TableIndex({ name: 'oidc_models_uid', columnNames: ['uid'] }),
          new TableIndex({ name: 'oidc_models_user_code', columnNames: ['user_code'] }),
          new TableIndex({ name: 'oidc_models_account', columnNames: ['account_id'] }),
          new TableIndex({ name: 'oidc_models_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['oidc_models', 'auth_audit', 'signing_keys', 'instance_access', 'server_instances', 'accounts']) {
      await queryRunner.dropTable(table);
    }
  }
}
