// Migration aid: the instance's own HS256 tokens ({userId, username, isAdmin}, signed with its JWT_SECRET), accepted
// only when configured, verified only with that secret and only as HS256, mapped to the same AuthUser.
import { jwtVerify } from 'jose';
import type { AuthUser } from './auth-user.js';
import { AuthError } from './errors.js';

export async function verifyLegacyToken(token: string, secret: string, clockTolerance: number): Promise<AuthUser> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'], clockTolerance }));
  } catch (cause) {
    throw new AuthError('invalid_token', 'invalid legacy token', { cause });
  }
  const { userId, username, isAdmin } = payload as { userId?: unknown; username?: unknown; isAdmin?: unknown };
  if (typeof userId !== 'number' || !Number.isInteger(userId) || typeof username !== 'string') {
    throw new AuthError('invalid_token', 'legacy token without userId and username');
  }
  // ChillFi3 signs isAdmin straight from its MySQL BOOLEAN column, a TINYINT: 1, or "1" through some drivers.
  const admin = isAdmin === true || isAdmin === 1 || isAdmin === '1';
  return {
    id: userId,
    sub: `legacy:${userId}`,
    username,
    display_name: null,
    is_admin: admin,
    role: admin ? 'admin' : 'member',
    sid: null,
    amr: [],
    acr: null,
    source: 'legacy',
  };
}
