#!/usr/bin/env node
// The `chillfi3-auth` bin (package.json "bin": dist/src/cli.js): runs the command line (src/cli/program.ts) on the
// process's own streams and exits with the code it chose.
import type { CliIo, ServicesStarter } from './cli/context.js';
import { runCli } from './cli/program.js';

// stdin is only opened when a command reads it (--password-stdin).
const stdin: AsyncIterable<string | Uint8Array> = { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() };
const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin, env: process.env };

// Imported on first use, not above: see ServicesStarter.
const startServices: ServicesStarter = async (stores, logger) => (await import('./services.js')).servicesOn(stores, logger);

process.exitCode = await runCli(process.argv.slice(2), io, startServices);
