// Per-instance limits on the client-authenticated endpoints (token, introspection, revocation): the plan's IP
// allowlists and per-server rate limits. The caller is identified the way the provider will authenticate it
// (Basic header, client_id, or the client assertion's subject); the provider still checks the credentials after.
import { BlockList, isIP } from 'node:net';
import type { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import type { Context, Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BadRequest } from '../errors.js';
import { oauthForm } from '../http/oauth-form.js';
import type { Instance } from '../instances/instance-entity.js';
import type { InstanceStore } from '../instances/instance-store.js';

/** Parses CIDRs (or single addresses) into a BlockList; throws BadRequest naming a bad entry. */
export function parseAllowlist(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefixText] = entry.trim().split('/');
    const family = isIP(address);
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    const max = family === 6 ? 128 : 32;
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new BadRequest(`"${entry}" is not an IP address or CIDR range`);
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** The client_id a request claims to be, before the provider verifies it. */
export function claimedClientId(ctx: Context): string | undefined {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(ctx.get('authorization'))?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    try {
      return decodeURIComponent(separator === -1 ? decoded : decoded.slice(0, separator));
    } catch {
      return undefined;
    }
  }
  const form = oauthForm(ctx);
  if (typeof form?.client_id === 'string') return form.client_id;
  if (typeof form?.client_assertion === 'string') {
    try {
      const { sub } = decodeJwt(form.client_assertion);
      return typeof sub === 'string' ? sub : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function isAllowed(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const address = mapped ?? ip;
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

export function instancePolicy(instances: InstanceStore, paths: readonly string[], redis?: Redis): Middleware {
  /** Parsed once per instance read (InstanceStore keeps each read for a few seconds). */
  const allowlists = new WeakMap<Instance, BlockList>();
  const limiters = new Map<number, RateLimiterAbstract>();

  function allowlistOf(instance: Instance): BlockList | null {
    if (instance.ipAllowlist.length === 0) return null;
    let list = allowlists.get(instance);
    if (!list) {
      list = parseAllowlist(instance.ipAllowlist);
      allowlists.set(instance, list);
    }
    return list;
  }

  function limiterFor(perMinute: number): RateLimiterAbstract {
    let limiter = limiters.get(perMinute);
    if (!limiter) {
      const options = { points: perMinute, duration: 60, keyPrefix: `instance-rate-${perMinute}` };
      limiter = redis ? new RateLimiterRedis({ ...options, storeClient: redis }) : new RateLimiterMemory(options);
      limiters.set(perMinute, limiter);
    }
    return limiter;
  }

  return async function enforceInstancePolicy(ctx, next) {
    if (ctx.method !== 'POST' || !paths.includes(ctx.path)) return next();
    const clientId = claimedClientId(ctx);
    const instance = clientId ? await instances.findByClientId(clientId) : null;
    if (!clientId || !instance) return next();
    const allowlist = allowlistOf(instance);
    if (allowlist && !isAllowed(allowlist, ctx.ip)) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: 'this instance may not call from this address' };
      return;
    }
    if (instance.rateLimit !== null) {
      try {
        await limiterFor(instance.rateLimit).consume(clientId);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        ctx.status = 429;
        ctx.set('Retry-After', String(Math.ceil(rejection.msBeforeNext / 1000)));
        ctx.body = { error: 'temporarily_unavailable', error_description: 'this instance is over its rate limit' };
        return;
      }
    }
    return next();
  };
}
