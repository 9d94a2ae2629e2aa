// POST /reg/:client_id/secret: an instance rotates its own client secret with its registration access token (the one
// RFC 7592's read, update and delete take), as an admin's rotation does (InstanceOperations.rotateSecret: the old
// secret works for CLIENT_SECRET_GRACE_SECONDS more), audited as its own change (`via: registration`). RFC 7592 names no
// way to rotate a secret; this is the same token on a path beside the registration's.
import type { Context, Middleware, Next } from 'koa';
import type { Provider } from 'oidc-provider';
import type { InstanceOperations } from '../admin/instance-operations.js';
import { AppError } from '../errors.js';
import type { InstanceStore } from '../instances/instance-store.js';
import { ROUTES } from '../provider/routes.js';

const SECRET_PATH = new RegExp(`^${ROUTES.registration}/([^/]+)/secret$`);

export interface RegistrationSecretDependencies {
  provider: () => Provider;
  instances: InstanceStore;
  instanceOperations: InstanceOperations;
}

function refuse(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  if (status === 401) ctx.set('WWW-Authenticate', `Bearer realm="chillfi3-auth", error="${error}"`);
  ctx.body = { error, error_description: description };
}

export function registrationSecret(deps: RegistrationSecretDependencies): Middleware {
  return async function rotateOwnSecret(ctx: Context, next: Next) {
    const match = SECRET_PATH.exec(ctx.path);
    if (!match) return next();
    if (ctx.method !== 'POST') {
      ctx.set('Allow', 'POST');
      return refuse(ctx, 405, 'invalid_request', 'a secret is rotated with POST');
    }
    const clientId = decodeURIComponent(match[1]!);
    const [scheme, token, ...rest] = (ctx.get('authorization') || '').split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) {
      return refuse(ctx, 401, 'invalid_token', 'the registration access token is required (Authorization: Bearer)');
    }
    const registration = await deps.provider().RegistrationAccessToken.find(token);
    if (!registration || registration.clientId !== clientId) return refuse(ctx, 401, 'invalid_token', 'the registration access token is not valid for this client');
    const instance = await deps.instances.findByClientId(clientId);
    if (!instance) return refuse(ctx, 401, 'invalid_token', 'the registration access token is not valid for this client');
    try {
      const rotated = await deps.instanceOperations.rotateSecret(instance.id, {
        accountId: null,
        via: 'registration',
        ip: ctx.ip,
        userAgent: ctx.get('user-agent') || null,
      });
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        client_id: clientId,
        client_secret: rotated.clientSecret,
        client_secret_expires_at: 0,
        previous_secret_expires_at: rotated.previousSecretExpiresAt === null ? null : Math.floor(rotated.previousSecretExpiresAt.getTime() / 1000),
      };
    } catch (error) {
      if (error instanceof AppError && error.status === 400) return refuse(ctx, 400, 'invalid_client_metadata', error.message);
      throw error;
    }
  };
}
