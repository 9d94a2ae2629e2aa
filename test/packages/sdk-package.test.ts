import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// The lean SDK package (packages/sdk): packed as npm would publish it, installed from the tarball into a scratch
// CommonJS project as a ChillFi3 server would install it, then loaded with require().

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = join(root, 'packages', 'sdk');
const PACKAGE_NAME = '@chillfi3/auth-client';
/** The package and its run-time dependencies (jose, openid-client and its oauth4webapi, cookie): a small tree. */
const MAX_INSTALLED_PACKAGES = 8;

type PackageJson = {
  name: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
type PackedFile = { path: string };
type PackResult = { filename: string; size: number; files: PackedFile[] };

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The packages src/sdk imports (bare specifiers, type-only imports included: the shipped .d.ts files name them). */
function importedPackages(): Set<string> {
  const dir = join(root, 'src', 'sdk');
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    for (const [, specifier] of readFileSync(join(dir, file), 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'/gm)) {
      if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return names;
}

/** Every installed package in a project's node_modules, from npm's own record of the tree. */
function installedPackages(project: string): string[] {
  const lock = readJson<{ packages: Record<string, unknown> }>(join(project, 'node_modules', '.package-lock.json'));
  return Object.keys(lock.packages).filter((path) => path.startsWith('node_modules/'));
}

/** Packages that would compile or run code at install: lifecycle scripts, or a binding.gyp (npm runs node-gyp for it). */
function packagesThatBuild(project: string): string[] {
  return installedPackages(project).filter((path) => {
    const dir = join(project, path);
    const scripts = readJson<PackageJson>(join(dir, 'package.json')).scripts ?? {};
    return ['preinstall', 'install', 'postinstall'].some((name) => name in scripts) || existsSync(join(dir, 'binding.gyp'));
  });
}

describe('packages/sdk: the lean SDK package', function () {
  this.timeout(180_000);

  let scratch: string;
  let packed: PackResult;

  before(async function () {
    scratch = mkdtempSync(join(tmpdir(), 'chillfi3-auth-client-'));
    // `npm pack` builds dist/ from src/sdk first (the package's prepack script); build output goes to stderr.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: packageDir });
    packed = (JSON.parse(stdout) as PackResult[])[0]!;

    const project = join(scratch, 'instance');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch-instance', private: true, type: 'commonjs' }));
    await run('npm', ['install', join(scratch, packed.filename), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project });
  });

  after(function () {
    rmSync(scratch, { recursive: true, force: true });
  });

  const project = (): string => join(scratch, 'instance');

  it('depends on exactly what src/sdk imports, at the root package’s versions', function () {
    const sdk = readJson<PackageJson>(join(packageDir, 'package.json'));
    const rootPackage = readJson<PackageJson>(join(root, 'package.json'));
    const declared = { ...sdk.peerDependencies, ...sdk.dependencies };
    expect(Object.keys(declared).sort()).to.deep.equal([...importedPackages()].sort());
    for (const [name, range] of Object.entries(declared)) {
      const rootRange = rootPackage.dependencies?.[name] ?? (rootPackage as { devDependencies?: Record<string, string> }).devDependencies?.[name];
      expect(range, name).to.equal(rootRange);
    }
  });

  it('publishes the built module and its types, no sources or tests', function () {
    const paths = packed.files.map((file) => file.path);
    expect(paths).to.include.members(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/bin.js']);
    expect(paths.filter((path) => !/^dist\/[\w/-]+\.(js|d\.ts)$/.test(path))).to.deep.equal(['README.md', 'package.json']);
  });

  it('installs a handful of packages and builds nothing native', function () {
    const installed = installedPackages(project());
    expect(installed).to.include(`node_modules/${PACKAGE_NAME}`);
    expect(installed.length).to.be.at.most(MAX_INSTALLED_PACKAGES);
    expect(packagesThatBuild(project())).to.deep.equal([]);
  });

  it('loads with require() from a CommonJS file and constructs a client', async function () {
    const script = join(project(), 'check.cjs');
    writeFileSync(
      script,
      [
        `const sdk = require('${PACKAGE_NAME}');`,
        `const auth = sdk.createAuthClient({ serverUrl: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret', logger: null });`,
        `console.log(JSON.stringify({ express: typeof auth.express(), socketIo: typeof auth.socketIo({ revalidateIntervalMs: 0 }),`,
        `  fromEnv: typeof sdk.fromEnv, policy: auth.options.policy }));`,
        `auth.close();`,
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [script], { cwd: project() });
    expect(JSON.parse(stdout)).to.deep.equal({ express: 'function', socketIo: 'function', fromEnv: 'function', policy: 'introspect-cached' });
  });

  it('packs on a fresh clone, with nothing installed anywhere (it installs its own build tools)', async function () {
    const clone = join(scratch, 'clone');
    mkdirSync(join(clone, 'src'), { recursive: true });
    cpSync(join(root, 'tsconfig.json'), join(clone, 'tsconfig.json'));
    cpSync(join(root, 'src', 'sdk'), join(clone, 'src', 'sdk'), { recursive: true });
    cpSync(packageDir, join(clone, 'packages', 'sdk'), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (path) => !/[/\\](dist|node_modules)$/.test(path),
    });
    const destination = join(clone, 'out');
    mkdirSync(destination);
    const { stdout } = await run('npm', ['pack', '--json', '--prefer-offline', '--pack-destination', destination], { cwd: join(clone, 'packages', 'sdk') });
    const fresh = (JSON.parse(stdout) as PackResult[])[0]!;
    expect(fresh.files.map((file) => file.path).sort()).to.deep.equal(packed.files.map((file) => file.path).sort());
  });

  it('ships the enrol command as its bin: npx runs it from the installed package', async function () {
    const { stdout } = await run('npx', ['--no-install', 'chillfi3-auth-client', '--help'], { cwd: project() });
    expect(stdout).to.include('usage: npx @chillfi3/auth-client enrol --server URL --token TOKEN --url INSTANCE_URL');
    const refused = await run('npx', ['--no-install', 'chillfi3-auth-client', 'enrol'], { cwd: project() }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused?.code).to.equal(2);
    expect(refused?.stderr).to.include('missing --server, --token, --url');
  });

  it('ships types that a CommonJS TypeScript project compiles against', async function () {
    writeFileSync(
      join(project(), 'check.cts'),
      [
        `import sdk = require('${PACKAGE_NAME}');`,
        `const auth: sdk.AuthClient = sdk.createAuthClient({ serverUrl: 'https://auth.example.com', clientId: 'id', clientSecret: 'secret' });`,
        `const user: sdk.AuthUser | undefined = undefined;`,
        `export = { auth, user };`,
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = join(root, 'node_modules', '@types');
    await run(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--typeRoots', typeRoots, '--types', 'node', 'check.cts'],
      { cwd: project() },
    );
  });
});
