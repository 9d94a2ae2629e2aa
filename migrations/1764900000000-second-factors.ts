import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableForeignKey } from 'typeorm';

// Second factors (src/mfa/): each account's factors (authenticator apps, passkeys), its recovery codes (hashes only),
// and each instance's second-factor policy (`mfa`: off, optional, required, required-for-admins). Existing instances
// get `optional`: nobody is asked for more than before.
export class SecondFactors1764900000000 implements MigrationInterface {
  name = 'SecondFactors1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    const cascade = () =>
      new TableForeignKey({ columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'], onDelete: 'CASCADE' });
    await queryRunner.createTable(
      new Table({
        name: 'second_factors',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'kind', type: 'varchar', length: '20' },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'secret_sealed', type: 'text', isNullable: true },
          { name: 'data', type: 'text', isNullable: true },
          { name: 'last_counter', type: 'bigint', isNullable: true },
          { name: 'created_at', type: timestamp, default: now },
          { name: 'last_used_at', type: timestamp, isNullable: true },
        ],
        foreignKeys: [cascade()],
        indices: [{ name: 'second_factors_account', columnNames: ['account_id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'recovery_codes',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'code_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'used_at', type: timestamp, isNullable: true },
          { name: 'created_at', type: timestamp, default: now },
        ],
        foreignKeys: [cascade()],
        indices: [{ name: 'recovery_codes_account', columnNames: ['account_id'] }],
      }),
    );
    await queryRunner.addColumn('server_instances', new TableColumn({ name: 'mfa', type: 'varchar', length: '24', isNullable: false, default: "'optional'" }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('server_instances', 'mfa');
    await queryRunner.dropTable('recovery_codes');
    await queryRunner.dropTable('second_factors');
  }
}
