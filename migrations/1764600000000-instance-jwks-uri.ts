import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

// Where an instance that authenticates by private_key_jwt publishes its public keys, when it does not register them
// inline (server_instances.jwks).
export class InstanceJwksUri1764600000000 implements MigrationInterface {
  name = 'InstanceJwksUri1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('server_instances', new TableColumn({ name: 'jwks_uri', type: 'varchar', length: '2048', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('server_instances', 'jwks_uri');
  }
}
