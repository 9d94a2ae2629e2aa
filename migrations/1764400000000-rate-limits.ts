import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

// The counters of the database-backed rate limiters (src/security/rate-limiter-store.ts), in the columns
// rate-limiter-flexible's RateLimiterPostgres and RateLimiterSQLite read and write: `key` (the limiter's prefix and the
// limited key), `points` consumed, `expire` (epoch milliseconds; null: never). The limiters never create it themselves.
export class RateLimits1764400000000 implements MigrationInterface {
  name = 'RateLimits1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'rate_limits',
        columns: [
          { name: 'key', type: 'varchar', length: '255', isPrimary: true },
          { name: 'points', type: 'integer', default: 0 },
          { name: 'expire', type: 'bigint', isNullable: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('rate_limits');
  }
}
