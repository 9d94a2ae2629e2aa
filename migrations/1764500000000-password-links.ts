import { type MigrationInterface, type QueryRunner, Table, TableForeignKey } from 'typeorm';

// Admin-issued set-password links (src/accounts/password-links.ts): the SHA-256 of each link's secret, never the
// secret itself; single use through `used_at`; removed with their account.
export class PasswordLinks1764500000000 implements MigrationInterface {
  name = 'PasswordLinks1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    await queryRunner.createTable(
      new Table({
        name: 'password_links',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'expires_at', type: timestamp },
          { name: 'used_at', type: timestamp, isNullable: true },
          { name: 'created_at', type: timestamp, default: now },
        ],
        foreignKeys: [
          new TableForeignKey({ columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
        ],
        indices: [{ name: 'password_links_account', columnNames: ['account_id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('password_links');
  }
}
