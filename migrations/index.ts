import { InitialSchema1764300000000 } from './1764300000000-initial-schema.js';
import { RateLimits1764400000000 } from './1764400000000-rate-limits.js';
import { PasswordLinks1764500000000 } from './1764500000000-password-links.js';
import { InstanceJwksUri1764600000000 } from './1764600000000-instance-jwks-uri.js';
import { FirstRun1764750000000 } from './1764750000000-first-run.js';
import { UsernameKeys1764800000000 } from './1764800000000-username-keys.js';
import { ServerSettings1764810000000 } from './1764810000000-server-settings.js';
import { InstanceNameKey1764820000000 } from './1764820000000-instance-name-key.js';
import { SecondFactors1764900000000 } from './1764900000000-second-factors.js';
import { Passkeys1764910000000 } from './1764910000000-passkeys.js';
import { Mail1764930000000 } from './1764930000000-mail.js';
import { ScaleIndexes1764950000000 } from './1764950000000-scale-indexes.js';
import { EnrolmentTokens1765100000000 } from './1765100000000-enrolment-tokens.js';
import { RevocationEvents1765200000000 } from './1765200000000-revocation-events.js';

/** Every migration, oldest first. Listed by hand so the same list works from source and from dist/. */
export const migrations = [
  InitialSchema1764300000000,
  RateLimits1764400000000,
  PasswordLinks1764500000000,
  InstanceJwksUri1764600000000,
  FirstRun1764750000000,
  UsernameKeys1764800000000,
  ServerSettings1764810000000,
  InstanceNameKey1764820000000,
  SecondFactors1764900000000,
  Passkeys1764910000000,
  Mail1764930000000,
  ScaleIndexes1764950000000,
  EnrolmentTokens1765100000000,
  RevocationEvents1765200000000,
];
