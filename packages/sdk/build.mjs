// Builds dist/ from src (a link to the repository's src/sdk) with TypeScript: the repository's, when `npm ci` ran at
// its root, else this package's own devDependencies, installed here first. So `npm pack` works on a fresh clone.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The TypeScript compiler reachable from this folder (its node_modules, then the repository's), or null. */
function findTsc() {
  try {
    return require.resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

let tsc = findTsc();
if (!tsc) {
  process.stderr.write("@chillfi3/auth-client: no TypeScript installed; installing this package's build tools here (npm install)\n");
  execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: here,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  tsc = findTsc();
}
rmSync(`${here}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: here, stdio: ['ignore', process.stderr, process.stderr] });
