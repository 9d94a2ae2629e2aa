import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The newest modification time under src/sdk, to tell whether dist is stale. */
function newestSource(): number {
  const dir = join(root, 'src', 'sdk');
  return Math.max(...readdirSync(dir).map((name) => statSync(join(dir, name)).mtimeMs));
}

describe('sdk: CommonJS', function () {
  this.timeout(120_000);

  before(async function () {
    const built = join(root, 'dist', 'src', 'sdk', 'index.js');
    if (!existsSync(built) || statSync(built).mtimeMs < newestSource()) {
      // tsc emits even when unrelated files have type errors; the typecheck step of npm test reports those.
      await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root }).catch(() => undefined);
    }
  });

  it("require('chillfi3-auth/sdk') works from a .cjs file (no top-level await in the graph)", async function () {
    const { stdout } = await run(process.execPath, [join(root, 'test', 'sdk', 'support', 'require-sdk.cjs')], { cwd: root });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).to.deep.equal({
      createAuthClient: 'function',
      fromEnv: 'function',
      express: 'function',
      socketIo: 'function',
      koa: 'function',
      AuthError: 'function',
      policy: 'introspect-cached',
    });
  });

  it('ships type declarations for the subpath', function () {
    expect(existsSync(join(root, 'dist', 'src', 'sdk', 'index.d.ts'))).to.equal(true);
  });
});
