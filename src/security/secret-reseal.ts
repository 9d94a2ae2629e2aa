// `secrets reseal`: every value sealed under a previous master secret (AUTH_SECRET_KEY_PREVIOUS) sealed again under
// the current one, so that the previous one can be dropped. Safe while servers run: each value is replaced only if
// it is still the one read (a secret rotated meanwhile is already sealed under the current secret).
import type { DataSource } from 'typeorm';
import { InstanceEntity, type Instance } from '../instances/instance-entity.js';
import type { KeyStore } from '../keys/key-store.js';
import type { SecretBox } from './secret-box.js';

/** The purpose InstanceStore seals client secrets for (src/instances/instance-store.ts). */
const CLIENT_SECRET_PURPOSE = 'client-secret';
const SEALED_INSTANCE_COLUMNS = ['secretEncrypted', 'previousSecretEncrypted'] as const;

export interface ResealCount {
  clientSecrets: number;
  signingKeys: number;
}

export async function resealSecrets(dataSource: DataSource, secrets: SecretBox, keys: KeyStore): Promise<ResealCount> {
  const instances = dataSource.getRepository<Instance>(InstanceEntity);
  const rows = await instances
    .createQueryBuilder('instance')
    .select(['instance.id', ...SEALED_INSTANCE_COLUMNS.map((column) => `instance.${column}`)])
    .getMany();
  let clientSecrets = 0;
  for (const row of rows) {
    for (const column of SEALED_INSTANCE_COLUMNS) {
      const sealed = row[column];
      if (sealed === null) continue;
      const resealed = await secrets.reseal(sealed, CLIENT_SECRET_PURPOSE);
      if (resealed === sealed) continue;
      const { affected } = await instances.update({ id: row.id, [column]: sealed }, { [column]: resealed });
      clientSecrets += affected ?? 0;
    }
  }
  return { clientSecrets, signingKeys: await keys.reseal() };
}
