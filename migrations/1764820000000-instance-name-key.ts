import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { instanceNameKey, NAME_KEY_LENGTH } from '../src/instances/instance-name.js';

const NAME_LENGTH = 100;

/** `name (n)` for the first n from 2 whose key nobody holds, the name trimmed and cut short to leave room for it. */
function freeName(name: string, taken: Set<string>): string {
  for (let n = 2; ; n++) {
    const suffix = ` (${n})`;
    const candidate = `${[...name.trim()].slice(0, NAME_LENGTH - suffix.length).join('').trimEnd()}${suffix}`;
    if (!taken.has(instanceNameKey(candidate))) return candidate;
  }
}

// Instance names are unique as people read them (src/instances/instance-name.ts): `name_key` holds the compared form
// under a unique index, so that of concurrent registrations of one name exactly one succeeds, on every node.
// Instances that already share a name keep working untouched (client ids, secrets and access stay): the oldest keeps
// its name and each later one is renamed `name (2)`, `name (3)`, ... in the order they were registered, which the
// console and `instances list` then show; refusing to migrate instead would stop the server over a label.
export class InstanceNameKey1764820000000 implements MigrationInterface {
  name = 'InstanceNameKey1764820000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'server_instances',
      new TableColumn({ name: 'name_key', type: 'varchar', length: String(NAME_KEY_LENGTH), isNullable: false, default: "''" }),
    );
    const rows: { id: string; name: string }[] = await queryRunner.manager
      .createQueryBuilder()
      .select(['instance.id AS id', 'instance.name AS name'])
      .from('server_instances', 'instance')
      .orderBy('instance.created_at', 'ASC')
      .addOrderBy('instance.id', 'ASC')
      .getRawMany();
    // The oldest holder of each name keeps it; only then are the others renamed, around every name kept.
    const holders = new Map<string, string>();
    for (const row of rows) if (!holders.has(instanceNameKey(row.name))) holders.set(instanceNameKey(row.name), row.id);
    const taken = new Set(holders.keys());
    for (const row of rows) {
      const name = holders.get(instanceNameKey(row.name)) === row.id ? row.name : freeName(row.name, taken);
      const nameKey = instanceNameKey(name);
      taken.add(nameKey);
      await queryRunner.manager.createQueryBuilder().update('server_instances').set({ name, name_key: nameKey }).where('id = :id', { id: row.id }).execute();
    }
    await queryRunner.createIndex('server_instances', new TableIndex({ name: 'server_instances_name_key', columnNames: ['name_key'], isUnique: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('server_instances', 'server_instances_name_key');
    await queryRunner.dropColumn('server_instances', 'name_key');
  }
}
