/**
 * `npm start` builds first (prestart: npm run build), and the build compiles only when a source is newer than what
 * it built last (tsc -b keeps dist/tsconfig.build.tsbuildinfo): a second start does not spend its time in tsc. Run on
 * a scratch project with this package's build script and tsconfig files and one source file, to keep it quick.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface PackageJson {
  scripts: Record<string, string>;
}

describe('npm start: the build step', function () {
  // Every step runs tsc in a process of its own.
  this.timeout(300_000);
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  let project: string;

  before(function () {
    project = mkdtempSync(join(tmpdir(), 'chillfi3-build-'));
    for (const file of ['tsconfig.json', 'tsconfig.build.json']) copyFileSync(join(ROOT, file), join(project, file));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', scripts: { build: scripts.build } }));
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'main.ts'), 'export const answer: number = 1;\n');
  });

  after(function () {
    rmSync(project, { recursive: true, force: true });
  });

  function build(): void {
    const run = spawnSync('npm', ['run', 'build'], { cwd: project, encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).to.equal(0);
  }

  const output = () => join(project, 'dist', 'src', 'main.js');

  it('builds before every start', function () {
    expect(scripts.prestart).to.equal('npm run build');
    expect(scripts.start).to.match(/^node dist\//);
  });

  it('compiles nothing when dist/ is newer than every source, and again once a source changed', function () {
    build();
    expect(readFileSync(output(), 'utf8')).to.contain('answer = 1');
    const built = statSync(output()).mtimeMs;

    build();
    expect(statSync(output()).mtimeMs, 'nothing written by a build with nothing to do').to.equal(built);

    writeFileSync(join(project, 'src', 'main.ts'), 'export const answer: number = 2;\n');
    // Newer than the last build whatever the clock's resolution.
    const later = new Date(Date.now() + 10_000);
    utimesSync(join(project, 'src', 'main.ts'), later, later);
    build();
    expect(readFileSync(output(), 'utf8')).to.contain('answer = 2');
  });
});
