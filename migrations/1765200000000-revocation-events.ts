import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

// The revocation stream's events (src/revocations/revocation-feed.ts): kept for at least TOKEN_TTL so that an instance
// that reconnects resumes after the last one it heard (Last-Event-ID); read by every node, newest by id.
export class RevocationEvents1765200000000 implements MigrationInterface {
  name = 'RevocationEvents1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    await queryRunner.createTable(
      new Table({
        name: 'revocation_events',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'at', type: timestamp },
          { name: 'client_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'type', type: 'varchar', length: '40' },
          { name: 'details', type: 'text' },
        ],
        indices: [
          { name: 'revocation_events_client', columnNames: ['client_id', 'id'] },
          { name: 'revocation_events_at', columnNames: ['at'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('revocation_events');
  }
}
