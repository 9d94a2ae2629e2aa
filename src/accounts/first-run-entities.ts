import { EntitySchema } from 'typeorm';

/** A setup token printed in the server's log while it has no admin: only its SHA-256 is kept. */
export interface SetupToken {
  /** SHA-256 (hex) of the token. */
  id: string;
  createdAt: Date;
}

export const SetupTokenEntity = new EntitySchema<SetupToken>({
  name: 'SetupToken',
  tableName: 'setup_tokens',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    createdAt: { name: 'created_at', type: Date, createDate: true },
  },
});

/** The first-admin lock: its one row exists while a request is creating the first admin. */
export interface SetupLock {
  id: string;
  /** A random id of the request holding the lock. */
  holder: string;
  lockedAt: Date;
}

export const SetupLockEntity = new EntitySchema<SetupLock>({
  name: 'SetupLock',
  tableName: 'setup_lock',
  columns: {
    id: { type: 'varchar', length: 16, primary: true },
    holder: { type: 'varchar', length: 32 },
    lockedAt: { name: 'locked_at', type: Date },
  },
});
