import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

// First run (src/accounts/first-run-store.ts): the setup tokens printed in the log while the server has no admin (the
// SHA-256 of each, never the token), and the one-row lock that lets a single request create the first admin.
export class FirstRun1764750000000 implements MigrationInterface {
  name = 'FirstRun1764750000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    await queryRunner.createTable(
      new Table({
        name: 'setup_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'created_at', type: timestamp, default: now },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'setup_lock',
        columns: [
          { name: 'id', type: 'varchar', length: '16', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '32' },
          { name: 'locked_at', type: timestamp },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('setup_lock');
    await queryRunner.dropTable('setup_tokens');
  }
}
