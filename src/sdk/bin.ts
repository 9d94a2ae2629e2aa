#!/usr/bin/env node
// The package's bin: `npx @chillfi3/auth-client enrol ...` (src/sdk/enrol-command.ts).
import { runCommand } from './enrol-command.js';

process.exitCode = await runCommand(process.argv.slice(2), process);
