import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableForeignKey } from 'typeorm';

// Mail (src/mail/): the durable outbox every node's worker sends from, the address-verification links (only the
// SHA-256 of each secret), and two account columns: whether its address was verified, and whether it wants a notice
// of each sign-in from a new browser.
export class Mail1764930000000 implements MigrationInterface {
  name = 'Mail1764930000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.createDateDefault as string;
    const byAccount = () =>
      new TableForeignKey({ columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'], onDelete: 'CASCADE' });
    await queryRunner.createTable(
      new Table({
        name: 'mail_outbox',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'kind', type: 'varchar', length: '40' },
          { name: 'account_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'payload', type: 'text' },
          { name: 'state', type: 'varchar', length: '10' },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'next_attempt_at', type: timestamp },
          { name: 'lease_owner', type: 'varchar', length: '64', isNullable: true },
          { name: 'lease_until', type: timestamp, isNullable: true },
          { name: 'last_error', type: 'varchar', length: '500', isNullable: true },
          { name: 'created_at', type: timestamp, default: now },
          { name: 'finished_at', type: timestamp, isNullable: true },
        ],
        foreignKeys: [byAccount()],
        indices: [
          { name: 'mail_outbox_due', columnNames: ['state', 'next_attempt_at'] },
          { name: 'mail_outbox_account', columnNames: ['account_id', 'created_at'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'email_verifications',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'email', type: 'varchar', length: '255' },
          { name: 'expires_at', type: timestamp },
          { name: 'created_at', type: timestamp, default: now },
        ],
        foreignKeys: [byAccount()],
        indices: [{ name: 'email_verifications_account', columnNames: ['account_id'] }],
      }),
    );
    await queryRunner.addColumns('accounts', [
      new TableColumn({ name: 'email_verified', type: 'boolean', default: false }),
      new TableColumn({ name: 'sign_in_notices', type: 'boolean', default: false }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('accounts', 'sign_in_notices');
    await queryRunner.dropColumn('accounts', 'email_verified');
    await queryRunner.dropTable('email_verifications');
    await queryRunner.dropTable('mail_outbox');
  }
}
