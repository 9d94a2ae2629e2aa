import { type MigrationInterface, type QueryRunner, Table, TableForeignKey } from 'typeorm';

// Passkeys (WebAuthn credentials, src/accounts/passkey-entity.ts): several per account, each found by the credential
// id the authenticator returns (unique), its COSE public key, signature counter, transports, the name its owner gave
// it and when it was last used; removed with their account.
export class Passkeys1764910000000 implements MigrationInterface {
  name = 'Passkeys1764910000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    await queryRunner.createTable(
      new Table({
        name: 'passkeys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          // base64url of the credential id: at most 1023 bytes (WebAuthn Level 3), 1364 characters.
          { name: 'credential_id', type: 'varchar', length: '1400', isUnique: true },
          { name: 'public_key', type: 'text' },
          // An unsigned 32-bit signature counter: more than a signed 32-bit integer holds.
          { name: 'counter', type: 'bigint', default: 0 },
          { name: 'transports', type: 'varchar', length: '255', isNullable: true },
          { name: 'backed_up', type: 'boolean', default: false },
          { name: 'name', type: 'varchar', length: '60' },
          { name: 'created_at', type: timestamp, default: now },
          { name: 'last_used_at', type: timestamp, isNullable: true },
        ],
        foreignKeys: [
          new TableForeignKey({ columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
        indices: [{ name: 'passkeys_account', columnNames: ['account_id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('passkeys');
  }
}
