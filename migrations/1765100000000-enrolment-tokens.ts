import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

// Enrolment tokens (src/instances/enrolment-tokens.ts): the SHA-256 of each token, never the token itself; single use
// through `used_at`; withdrawn by deleting the row.
export class EnrolmentTokens1765100000000 implements MigrationInterface {
  name = 'EnrolmentTokens1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    await queryRunner.createTable(
      new Table({
        name: 'enrolment_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'name', type: 'varchar', length: '100', isNullable: true },
          { name: 'access_policy', type: 'varchar', length: '10' },
          { name: 'allow_admin', type: 'boolean', default: false },
          { name: 'expires_at', type: timestamp },
          { name: 'used_at', type: timestamp, isNullable: true },
          { name: 'instance_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'created_by', type: 'varchar', length: '36', isNullable: true },
          { name: 'created_at', type: timestamp, default: now },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('enrolment_tokens');
  }
}
