import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

// Facts about the deployment as a whole, for every node and the CLI (src/db/server-setting-entity.ts): that first run
// is over (an admin has existed), and the issuer the server last started under. A server that has an admin today has
// had its first run: it is marked so, and the setup tokens it still holds are withdrawn.
export class ServerSettings1764810000000 implements MigrationInterface {
  name = 'ServerSettings1764810000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.normalizeType({ type: Date });
    const now = queryRunner.connection.driver.mappedDataTypes.updateDateDefault as string;
    await queryRunner.createTable(
      new Table({
        name: 'server_settings',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'value', type: 'varchar', length: '2048' },
          { name: 'updated_at', type: timestamp, default: now },
        ],
      }),
    );
    const admins = queryRunner.manager.createQueryBuilder().select('1').from('accounts', 'account').where('account.is_admin = :yes', { yes: true });
    if ((await admins.getRawOne()) === undefined) return;
    await queryRunner.manager
      .createQueryBuilder()
      .insert()
      .into('server_settings', ['name', 'value'])
      .values({ name: 'first_admin', value: new Date().toISOString() })
      .execute();
    await queryRunner.manager.createQueryBuilder().delete().from('setup_tokens').execute();
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('server_settings');
  }
}
