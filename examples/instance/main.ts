// Runs the example instance from the environment: PORT, AUTH_SERVER_URL, AUTH_API_KEY, AUTH_API_SECRET, INSTANCE_NAME.
import { startInstance } from './server.js';

const env = process.env;
if (!env.AUTH_SERVER_URL || !env.AUTH_API_KEY || !env.AUTH_API_SECRET) {
  console.error('set AUTH_SERVER_URL, AUTH_API_KEY and AUTH_API_SECRET');
  process.exit(1);
}
startInstance({
  port: Number(env.PORT ?? 4000),
  authServerUrl: env.AUTH_SERVER_URL,
  clientId: env.AUTH_API_KEY,
  clientSecret: env.AUTH_API_SECRET,
  name: env.INSTANCE_NAME ?? 'ChillFi3 example',
}).then(
  (instance) => console.log(`example instance on ${instance.url}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
