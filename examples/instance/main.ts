// Runs the example instance from the environment (options-from-env.ts names the variables).
import { instanceOptionsFromEnv } from './options-from-env.js';
import { startInstance } from './server.js';

Promise.resolve()
  .then(() => startInstance(instanceOptionsFromEnv()))
  .then(
    (instance) => console.log(`example instance on ${instance.url}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
