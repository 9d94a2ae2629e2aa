// The whole request pipeline, in order. createApp never listens: main.ts and the tests do.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from './logger.js';
import type { Services } from './services.js';
import { adminApiRoutes } from './admin/admin-routes.js';
import { userApiRoutes } from './admin/user-routes.js';
import { accessLog } from './http/access-log.js';
import { canonicalProviderPaths } from './http/canonical-path.js';
import { clientAddress } from './http/client-address.js';
import { clientEndpointStages } from './http/client-endpoints.js';
import { revocationStream } from './http/revocation-stream.js';
import { registrationSecret } from './http/registration-secret.js';
import { discoveryCache } from './http/discovery-cache.js';
import { errorHandler } from './http/error-handler.js';
import { notFoundPage } from './http/not-found-page.js';
import { readiness } from './http/readiness.js';
import { requestDeadline } from './http/request-deadline.js';
import { requestMetrics } from './http/request-metrics.js';
import { securityHeaders } from './http/security-headers.js';
import { requireValidHost } from './http/valid-host.js';
import { publicDir, webAuthnBrowserBundle } from './http/views.js';
import { interactionRoutes } from './interactions/routes.js';
import { StoreProbe } from './metrics/store-probe.js';
import { cookieKeys } from './provider/cookie-keys.js';
import { jwtPresentation } from './provider/jwt-presentation.js';
import { PROVIDER_PATHS, ROUTES } from './provider/routes.js';
import { accountRoutes } from './web/account-routes.js';
import { adminAccessPages } from './web/admin-access.js';
import { adminAuditPages } from './web/admin-audit.js';
import { adminDashboardPages } from './web/admin-dashboard.js';
import { adminEnrolmentPages } from './web/admin-enrolment.js';
import { adminInstancePages } from './web/admin-instances.js';
import { adminKeyPages } from './web/admin-keys.js';
import { adminUserPages } from './web/admin-users.js';
import { firstRunRoutes } from './web/first-run-routes.js';
import { forgotPasswordRoutes } from './web/forgot-password-routes.js';
import { setPasswordRoutes } from './web/set-password.js';
import { signInRoutes } from './web/sign-in-routes.js';
import { verifyEmailRoutes } from './web/verify-email-routes.js';
import { pagesOnly } from './web/wants-page.js';
import { webGuards } from './web/web-session.js';

export interface AppDependencies {
  services: Services;
  logger: Logger;
}

const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    // No form-action: browsers apply it to the redirects after a form post, and sign-in and sign-out forms end in a
    // redirect to the instance's own registered URI.
  },
};

/**
 * What /assets/ serves, with its type and file (under public/ unless a path is given): the stylesheet, the instance
 * form's enhancement, and the passkey scripts with the WebAuthn library they use (the CSP's script-src 'self' lets
 * them run; every page but the passkey ceremonies works without them).
 */
const ASSETS: Record<string, { type: string; file?: string }> = {
  'style.css': { type: 'text/css' },
  'instance-form.js': { type: 'text/javascript' },
  'passkey-sign-in.js': { type: 'text/javascript' },
  'passkey-register.js': { type: 'text/javascript' },
  'passkey-factor.js': { type: 'text/javascript' },
  'simplewebauthn-browser.js': { type: 'text/javascript', file: webAuthnBrowserBundle },
};

/** With metrics on, how often the stores are pinged for the store_* metrics. */
const STORE_PING_INTERVAL_MS = 15_000;

export async function createApp({ services, logger }: AppDependencies): Promise<Koa> {
  const { config } = services;
  const assets = new Map(
    await Promise.all(
      Object.entries(ASSETS).map(async ([name, { type, file }]) => [name, { type, body: await readFile(file ?? join(publicDir, name)) }] as const),
    ),
  );
  // Mounted, the provider sets its cookies through this app's context: both must sign with the same keys.
  // X-Forwarded-* reach Koa only from trusted proxies (clientAddress drops them otherwise).
  const app = new Koa({ proxy: config.trustProxy !== false, keys: cookieKeys(config) });
  // Errors after an answer has started (a streamed export whose store failed midway) reach no error handler: logged
  // here, through the server's logger, instead of Koa's default printing the stack to stderr.
  app.on('error', (err: unknown, ctx?: Koa.Context) => logger.error({ err, path: ctx?.path }, 'an answer failed after it started'));

  const site = new Router();
  site.get('/assets/:name', function asset(ctx, next) {
    const found = assets.get(ctx.params.name as string);
    if (!found) return next();
    ctx.type = found.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = found.body;
  });
  site.get('/favicon.ico', function noFavicon(ctx) {
    ctx.status = 204;
  });
  site.get('/healthz', function health(ctx) {
    ctx.body = { status: 'ok' };
  });
  const stores = new StoreProbe(services);
  if (config.metrics) stores.pingEvery(STORE_PING_INTERVAL_MS);
  site.get('/readyz', readiness(stores));

  const interactions = interactionRoutes(services);
  const setPassword = setPasswordRoutes(services);
  const forgotPassword = forgotPasswordRoutes(services);
  const verifyEmail = verifyEmailRoutes(services);
  const guards = webGuards(services);
  const webSignIn = signInRoutes(services, guards);
  const firstRun = firstRunRoutes(services, guards);
  const account = accountRoutes(services, guards);
  const userApi = userApiRoutes({ ...services, issuer: config.issuer });
  const adminApi = adminApiRoutes(services);
  const clientStages = clientEndpointStages({
    instances: services.instances,
    limiterBackend: services.limiterBackend,
    clientAuthFailures: config.clientAuthFailures,
    issuer: config.issuer,
    accessTokens: services.accessTokens,
    signer: services.accessTokenSigner,
    accessTokenTtl: config.ttl.accessToken,
    refreshRetryGraceSeconds: config.refreshRetryGraceSeconds,
    adapter: (model) => new services.oidcStore.Adapter(model),
    now: services.clock,
  });
  const presentJwts = jwtPresentation({
    accessTokens: services.accessTokens,
    provider: () => services.provider,
    secretKey: config.secretKey,
    paths: ROUTES,
  });

  // Outermost, so that they see every request and its final status, whoever answered it.
  app.use(accessLog(logger, config.trustProxy));
  // Nobody reads the metrics without their listener (AUTH_METRICS_PORT).
  if (config.metrics) app.use(requestMetrics());
  app.use(errorHandler(logger));
  app.use(notFoundPage());
  app.use(requestDeadline(config.storeTimeouts));
  app.use(clientAddress(config.trustProxy));
  app.use(requireValidHost());
  app.use(canonicalProviderPaths(PROVIDER_PATHS));
  app.use(securityHeaders({ contentSecurityPolicy: CONTENT_SECURITY_POLICY, crossOriginEmbedderPolicy: false, frameguard: { action: 'deny' } }));
  app.use(discoveryCache(services.liveProvider, config.issuer));
  // The endpoints where instances authenticate: no router below serves their paths, so they skip them all.
  for (const stage of clientStages) app.use(stage);
  app.use(revocationStream({ feed: services.revocations, heartbeatMs: config.revocationHeartbeatSeconds * 1000 }));
  app.use(registrationSecret({ provider: () => services.provider, instances: services.instances, instanceOperations: services.instanceOperations }));
  app.use(site.routes());
  app.use(interactions.routes());
  app.use(interactions.allowedMethods());
  app.use(setPassword.routes());
  app.use(forgotPassword.routes());
  app.use(verifyEmail.routes());
  // The server's own pages (src/web): sign-in for them, first run at /, the account page.
  app.use(webSignIn.routes());
  app.use(firstRun.routes());
  app.use(account.routes());
  app.use(pagesOnly(adminUserPages(services, guards).routes() as Koa.Middleware));
  app.use(pagesOnly(adminAccessPages(services, guards).routes() as Koa.Middleware));
  app.use(pagesOnly(adminDashboardPages(services, guards).routes() as Koa.Middleware));
  // Before the instance pages: /admin/instances/enrol is no instance's id.
  app.use(pagesOnly(adminEnrolmentPages(services, guards).routes() as Koa.Middleware));
  app.use(pagesOnly(adminInstancePages(services, guards).routes() as Koa.Middleware));
  app.use(pagesOnly(adminAuditPages(services, guards).routes() as Koa.Middleware));
  app.use(pagesOnly(adminKeyPages(services, guards).routes() as Koa.Middleware));
  // Before the provider: POST /auth/register shares the authorization endpoint's prefix, and is ours alone.
  app.use(userApi.routes());
  app.use(adminApi.routes());
  app.use(presentJwts);
  // The provider of the current signing keys (src/provider/live-provider.ts).
  app.use(services.liveProvider.middleware());
  return app;
}
