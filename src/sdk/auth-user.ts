// The user an instance sees (req.user, ctx.state.user, socket.user): today's ChillFi3 shape, from token claims,
// with the columns of the instance's own row when the client has a resolveUser hook (local-users.ts).
import type { JWTPayload } from 'jose';

export interface AuthUser {
  /**
   * The user's numeric id in this instance's own database: its row's id with resolveUser, else the id the auth server
   * knows (the chillfi3_user_id claim), else null.
   */
  id: number | null;
  /** The user's stable id at the auth server (the token's sub). */
  sub: string;
  username: string;
  display_name: string | null;
  /** True when the user is an admin of this instance. */
  is_admin: boolean;
  role: 'admin' | 'member';
  /** The auth server session the token belongs to (matches back-channel logout), when it has one. */
  sid: string | null;
  /**
   * How the user signed in (RFC 8176): 'pwd' for a password, 'otp' for an authenticator app or recovery code, 'hwk' or
   * 'swk' for a passkey, 'mfa' when there were two. Empty for a legacy token.
   */
  amr: string[];
  /** The sign-in's assurance: 'mfa' with a second factor, 'pwd' with a password alone; null when unknown. */
  acr: string | null;
  /** 'legacy' for an instance-local HS256 token accepted during a rollout. */
  source: 'auth-server' | 'legacy';
  /** With resolveUser: the other columns of the local row (display_name, bio, theme, …), never its password. */
  [column: string]: unknown;
}

export const ROLE_CLAIM = 'chillfi3_role';
export const LOCAL_ID_CLAIM = 'chillfi3_user_id';

export function userFromClaims(claims: JWTPayload): AuthUser {
  const role = claims[ROLE_CLAIM] === 'admin' ? 'admin' : 'member';
  const localId = claims[LOCAL_ID_CLAIM];
  const username = typeof claims.preferred_username === 'string' ? claims.preferred_username : String(claims.sub);
  return {
    id: typeof localId === 'number' && Number.isInteger(localId) ? localId : null,
    sub: String(claims.sub),
    username,
    display_name: typeof claims.name === 'string' ? claims.name : null,
    is_admin: role === 'admin',
    role,
    sid: typeof claims.sid === 'string' ? claims.sid : null,
    amr: Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : [],
    acr: typeof claims.acr === 'string' ? claims.acr : null,
    source: 'auth-server',
  };
}
