// The example instance's options from the environment: the SDK's own variables (AUTH_SERVER_URL, AUTH_API_KEY,
// AUTH_API_SECRET, read by its optionsFromEnv) and the instance's: PORT, HOST, PUBLIC_URL, INSTANCE_NAME, DATABASE_FILE.
import { optionsFromEnv } from '../../src/sdk/index.js';
import type { InstanceOptions } from './server.js';

export function instanceOptionsFromEnv(env: Record<string, string | undefined> = process.env): InstanceOptions {
  const { serverUrl, clientId, clientSecret } = optionsFromEnv(env);
  return {
    port: Number(env.PORT ?? 4000),
    host: env.HOST,
    publicUrl: env.PUBLIC_URL,
    authServerUrl: serverUrl,
    clientId,
    clientSecret,
    name: env.INSTANCE_NAME ?? 'ChillFi3 example',
    databaseFile: env.DATABASE_FILE,
  };
}
