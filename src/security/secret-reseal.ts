// `secrets reseal`: every value sealed under a previous master secret (AUTH_SECRET_KEY_PREVIOUS) sealed again under
// the current one, so that the previous one can be dropped. Safe while servers run: each value is replaced only if
// it is still the one read (a secret rotated meanwhile is already sealed under the current secret).
import type { DataSource } from 'typeorm';
import { InstanceEntity, type Instance } from '../instances/instance-entity.js';
import type { KeyStore } from '../keys/key-store.js';
import { SecondFactorEntity, type SecondFactor } from '../mfa/second-factor-entity.js';
import { TOTP_SECRET_PURPOSE } from '../mfa/totp-factor.js';
import type { SecretBox } from './secret-box.js';

/** The purpose InstanceStore seals client secrets for (src/instances/instance-store.ts). */
const CLIENT_SECRET_PURPOSE = 'client-secret';
const SEALED_INSTANCE_COLUMNS = ['secretEncrypted', 'previousSecretEncrypted'] as const;

export interface ResealCount {
  clientSecrets: number;
  signingKeys: number;
  /** Authenticator apps' shared secrets (src/mfa/totp-factor.ts). */
  totpSecrets: number;
}

/** The TOTP secrets of every account's authenticator app, each replaced only if it is still the one read. */
async function resealTotpSecrets(dataSource: DataSource, secrets: SecretBox): Promise<number> {
  const factors = dataSource.getRepository<SecondFactor>(SecondFactorEntity);
  const rows = await factors
    .createQueryBuilder('factor')
    .select(['factor.id', 'factor.secretSealed'])
    .where('factor.secret_sealed IS NOT NULL')
    .getMany();
  let count = 0;
  for (const row of rows) {
    const sealed = row.secretSealed!;
    const resealed = await secrets.reseal(sealed, TOTP_SECRET_PURPOSE);
    if (resealed === sealed) continue;
    const { affected } = await factors.update({ id: row.id, secretSealed: sealed }, { secretSealed: resealed });
    count += affected ?? 0;
  }
  return count;
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
  return { clientSecrets, signingKeys: await keys.reseal(), totpSecrets: await resealTotpSecrets(dataSource, secrets) };
}
