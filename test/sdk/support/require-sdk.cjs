// Loaded by test/sdk/commonjs.test.ts with plain `node`: the SDK as a CommonJS ChillFi3 server would load it.
/* eslint-disable @typescript-eslint/no-require-imports */
/* global require, console */
'use strict';
const sdk = require('chillfi3-auth/sdk');
// chillfi3.md's name for the same module.
if (require('chillfi3-auth/client') !== sdk) throw new Error('chillfi3-auth/client is not the SDK');
const client = sdk.createAuthClient({ serverUrl: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret', logger: null });
console.log(JSON.stringify({
  createAuthClient: typeof sdk.createAuthClient,
  fromEnv: typeof sdk.fromEnv,
  express: typeof client.express(),
  socketIo: typeof client.socketIo({ revalidateIntervalMs: 0 }),
  koa: typeof client.koa(),
  AuthError: typeof sdk.AuthError,
  policy: client.options.policy,
}));
client.close();
