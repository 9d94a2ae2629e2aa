// The whole request pipeline, in order. createApp never listens: main.ts and the tests do.
import { readFile } from 'node:fs/promises';
import Koa from 'koa';
import Router from '@koa/router';
import helmet from 'koa-helmet';
import mount from 'koa-mount';
import type { Logger } from './logger.js';
import type { Services } from './services.js';
import { clientAuthenticationErrors } from './http/client-authentication-errors.js';
import { errorHandler } from './http/error-handler.js';
import { readOAuthForm, replayOAuthForm } from './http/oauth-form.js';
import { stylesheetPath } from './http/views.js';
import { interactionRoutes } from './interactions/routes.js';
import { cookieKeys, ROUTES } from './provider/configuration.js';
import { instancePolicy } from './security/instance-policy.js';

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

export async function createApp({ services, logger }: AppDependencies): Promise<Koa> {
  const { provider, config } = services;
  const stylesheet = await readFile(stylesheetPath);
  // Mounted, the provider sets its cookies through this app's context: both must sign with the same keys.
  const app = new Koa({ proxy: config.trustProxy, keys: cookieKeys(config) });

  const site = new Router();
  site.get('/assets/style.css', function stylesheetAsset(ctx) {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  site.get('/favicon.ico', function noFavicon(ctx) {
    ctx.status = 204;
  });
  site.get('/healthz', function health(ctx) {
    ctx.body = { status: 'ok' };
  });

  const interactions = interactionRoutes(services);
  /** The endpoints where instances authenticate themselves. */
  const clientEndpoints = [ROUTES.token, ROUTES.introspection, ROUTES.revocation];

  app.use(errorHandler(logger));
  app.use(helmet({ contentSecurityPolicy: CONTENT_SECURITY_POLICY, crossOriginEmbedderPolicy: false }));
  app.use(site.routes());
  app.use(interactions.routes());
  app.use(interactions.allowedMethods());
  app.use(readOAuthForm(clientEndpoints));
  app.use(clientAuthenticationErrors(clientEndpoints));
  app.use(instancePolicy(services.instances, clientEndpoints, services.redis));
  app.use(services.registry.middleware(ROUTES));
  app.use(replayOAuthForm());
  app.use(mount(provider));
  return app;
}
