// Stock oidc-provider neither stores JWT access tokens nor accepts them at its introspection, revocation and
// userinfo endpoints (it answers unsupported_token_type, or rejects a token with an audience at userinfo).
// No library bridges that, so this module does, with the provider's own machinery:
//  1. When a JWT access token is minted, a shadow record of it (the fields an opaque token would hold, grant
//     included, audience left out) is stored through the provider's adapter. Grant revocation removes it with
//     the grant's other tokens; its TTL is the token's.
//  2. Before the provider sees an introspection, revocation or userinfo request, a JWT signed by this server is
//     verified and replaced by its shadow record's id, so the provider authenticates the client, checks the grant
//     and the session, revokes, and answers exactly as for an opaque token. Introspection answers get the token's
//     `aud` and `jti` back.
// The shadow id is an HMAC of the jti under a server secret: knowing a token's jti does not let anyone present it.
// While the master secret is being rotated (AUTH_SECRET_KEY_PREVIOUS), a token minted under a previous one has its
// record under that secret's HMAC: such ids are tried after the current one (a store lookup each, only then), so
// live tokens stay usable until they expire, which bounds how long the previous secret is needed for them.
import { createHmac } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Middleware } from 'koa';
import type { Adapter, Provider } from 'oidc-provider';
import { oauthForm } from '../http/oauth-form.js';
import { deriveKey } from '../security/secret-box.js';

const SHADOW_FIELDS = [
  'kind', 'iat', 'exp', 'clientId', 'accountId', 'grantId', 'gty', 'scope', 'sid', 'sessionUid',
  'expiresWithSession', 'extra', 'claims', 'jkt', 'x5t#S256',
] as const;
/** Stands in for a token nobody issued: not a possible token id (ids never contain '!'). */
const UNKNOWN_TOKEN = '!';
/** The provider models shadow records are kept in. */
const SHADOW_MODELS = ['AccessToken', 'ClientCredentials'] as const;

interface MintedToken {
  jti: string;
  kind: string;
  [field: string]: unknown;
}

export interface EndpointPaths {
  introspection: string;
  revocation: string;
  userinfo: string;
}

function hmac(key: Buffer, jti: string): string {
  return createHmac('sha256', key).update(jti).digest('base64url');
}

function looksLikeJwt(value: unknown): value is string {
  if (typeof value !== 'string' || value.split('.').length !== 3) return false;
  try {
    decodeProtectedHeader(value);
    return true;
  } catch {
    return false;
  }
}

export interface AccessTokenRegistryOptions {
  /** The master secret, then the previous ones still accepted (config.secretKey, config.previousSecretKeys). */
  secretKeys: readonly string[];
  issuer: string;
  publicKeys: JSONWebKeySet;
  /** The provider's storage, where shadow records made under a previous master secret are looked for. */
  adapter: (name: string) => Adapter;
}

export class AccessTokenRegistry {
  readonly #hmacKeys: Buffer[];
  readonly #shadowModels: Adapter[];
  readonly #issuer: string;
  #keySet: ReturnType<typeof createLocalJWKSet>;

  constructor({ secretKeys, issuer, publicKeys, adapter }: AccessTokenRegistryOptions) {
    this.#hmacKeys = secretKeys.map((secret) => deriveKey(secret, 'access-token-registry'));
    this.#shadowModels = SHADOW_MODELS.map(adapter);
    this.#issuer = issuer;
    this.#keySet = createLocalJWKSet(publicKeys);
  }

  /** Verifies tokens against `publicKeys` from now on (the published key set changed: src/keys/key-set-watch.ts). */
  useKeys(publicKeys: JSONWebKeySet): void {
    this.#keySet = createLocalJWKSet(publicKeys);
  }

  /** The id a token minted now is stored under: the HMAC of its jti under the current master secret. */
  shadowId(jti: string): string {
    return hmac(this.#hmacKeys[0]!, jti);
  }

  /**
   * The id a live token's shadow record is stored under: shadowId, or for a token minted under a previous master
   * secret, the one it was stored under then. What a verified token is looked up by.
   */
  async storedShadowId(jti: string): Promise<string> {
    const [current, ...previous] = this.#hmacKeys.map((key) => hmac(key, jti));
    if (previous.length === 0 || (await this.#isStored(current!))) return current!;
    for (const id of previous) if (await this.#isStored(id)) return id;
    return current!;
  }

  async #isStored(id: string): Promise<boolean> {
    const found = await Promise.all(this.#shadowModels.map((model) => model.find(id)));
    return found.some(Boolean);
  }

  /** Stores the shadow record of a freshly minted JWT access token (called from formats.customizers.jwt). */
  async remember(provider: Provider, token: MintedToken, payload: JWTPayload): Promise<void> {
    const model = token.kind === 'ClientCredentials' ? provider.ClientCredentials : provider.AccessToken;
    const id = this.shadowId(token.jti);
    const record: Record<string, unknown> = { jti: id };
    for (const field of SHADOW_FIELDS) if (token[field] !== undefined) record[field] = token[field];
    record.iat = payload.iat;
    record.exp = payload.exp;
    const ttl = Math.max(1, (payload.exp ?? 0) - Math.floor(Date.now() / 1000));
    await model.adapter.upsert(id, record as never, ttl);
  }

  /** The verified claims of a JWT access token issued here, or undefined for anything else. */
  async verify(token: string): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#keySet, { issuer: this.#issuer, typ: 'at+jwt' });
      return typeof payload.jti === 'string' ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Koa middleware, after readOAuthForm (src/http/oauth-form.ts) and before the provider: presents our JWT access
   * tokens to the provider by their shadow id, in the Authorization header or the form (RFC 6750 §2.1, §2.2).
   */
  middleware(paths: EndpointPaths): Middleware {
    const verify = (token: string) => this.verify(token);
    const shadowId = (jti: string) => this.storedShadowId(jti);
    return async function presentJwtAccessTokens(ctx, next) {
      const form = oauthForm(ctx);
      if (ctx.path === paths.userinfo) {
        const bearer = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'))?.[1];
        const headerClaims = looksLikeJwt(bearer) ? await verify(bearer) : undefined;
        if (headerClaims) ctx.req.headers.authorization = `Bearer ${await shadowId(headerClaims.jti as string)}`;
        const formClaims = form && looksLikeJwt(form.access_token) ? await verify(form.access_token) : undefined;
        if (form && formClaims) form.access_token = await shadowId(formClaims.jti as string);
        return next();
      }
      if ((ctx.path !== paths.introspection && ctx.path !== paths.revocation) || !form || !looksLikeJwt(form.token)) {
        return next();
      }
      const claims = await verify(form.token);
      // A JWT that is not ours, or no longer verifies, is an unknown token: inactive (RFC 7662), quietly ignored (RFC 7009).
      form.token = claims ? await shadowId(claims.jti as string) : UNKNOWN_TOKEN;
      await next();
      if (claims && ctx.path === paths.introspection && (ctx.body as { active?: boolean } | undefined)?.active) {
        Object.assign(ctx.body as object, { aud: claims.aud, jti: claims.jti });
      }
    };
  }
}
