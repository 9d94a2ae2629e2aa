#!/usr/bin/env bash
# Tries this repository's committed state (HEAD) with the newest oidc-provider of a major line (9 unless given) before
# an upgrade: copies HEAD into a scratch directory (no node_modules, nothing uncommitted), installs the locked
# dependencies (npm ci), then the newest release of that line and of its type declarations, type-checks, and runs the
# [provider-pin] tests: the ones that hold each place this code relies on oidc-provider beyond its public API to the
# installed provider (docs/upgrading-oidc-provider.md lists them). Prints the versions and each touch point's result,
# exits non-zero if anything failed, and removes the scratch directory (KEEP_SCRATCH=1 keeps it for a look).
#
#   npm run check:provider-latest            # newest 9.x
#   npm run check:provider-latest -- 9.14.0  # any version or range npm understands
#
# Needs what the tests need: the registry, PostgreSQL and Redis as test/support/databases.ts expects them.
set -uo pipefail

spec="${1:-9}"
root="$(git rev-parse --show-toplevel)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/chillfi3-provider-check.XXXXXX")"
cleanup() {
  if [ "${KEEP_SCRATCH:-0}" = 1 ]; then echo "scratch copy kept in $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "copying $(git -C "$root" rev-parse --short HEAD) into $scratch"
git -C "$root" archive --format=tar HEAD | tar -x -C "$scratch" || exit 1
cd "$scratch" || exit 1

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error || exit 1
locked="$(node -p "require('oidc-provider/package.json').version")"

# The highest version npm has for a package and range (npm view lists them in no guaranteed order).
newest() {
  npm view "$1" version --json | node -e '
    const versions = [].concat(JSON.parse(require("fs").readFileSync(0, "utf8")));
    const parts = (v) => v.split(/[.+-]/).slice(0, 3).map(Number);
    const order = (a, b) => { const [x, y] = [parts(a), parts(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; };
    console.log(versions.sort(order).at(-1) ?? "");'
}
latest="$(newest "oidc-provider@${spec}")"
types_latest="$(newest "@types/oidc-provider@${spec%%.*}")"
if [ -z "$latest" ] || [ -z "$types_latest" ]; then echo "no oidc-provider release matches \"${spec}\"" >&2; exit 1; fi
step "oidc-provider ${locked} (locked) -> ${latest} (newest of \"${spec}\"), @types/oidc-provider -> ${types_latest}"
npm install --no-save --no-audit --no-fund --loglevel=error "oidc-provider@${latest}" "@types/oidc-provider@${types_latest}" || exit 1
installed="$(node -p "require('oidc-provider/package.json').version")"

step "type-check"
if npx tsc --noEmit -p .; then typecheck=pass; else typecheck=FAIL; fi

step "[provider-pin] tests"
report="$scratch/provider-pins.json"
npx mocha 'test/**/*.test.ts' -g '\[provider-pin\]' --reporter json --reporter-option "output=$report" >"$scratch/mocha.log" 2>&1
grep -v 'oidc-provider WARNING' "$scratch/mocha.log" | tail -20

step "result for oidc-provider ${installed}"
INSTALLED="$installed" TYPECHECK="$typecheck" REPORT="$report" node --input-type=module <<'SUMMARY'
import { readFileSync, existsSync } from 'node:fs';
const { INSTALLED, TYPECHECK, REPORT } = process.env;
let failed = TYPECHECK !== 'pass';
console.log(`type-check: ${TYPECHECK}`);
if (!existsSync(REPORT) || readFileSync(REPORT, 'utf8').trim() === '') {
  console.log('tests: no report (mocha did not run; see above)');
  process.exit(1);
}
const { stats, tests } = JSON.parse(readFileSync(REPORT, 'utf8'));
// One line per test file: each file mirrors the src/ file whose touch point it pins.
const byFile = new Map();
for (const test of tests) {
  const file = (test.file ?? '?').replace(/^.*?\/test\//, 'test/');
  const entry = byFile.get(file) ?? { pass: 0, fail: [] };
  if (test.err && Object.keys(test.err).length > 0) entry.fail.push({ title: test.fullTitle, message: String(test.err.message ?? '').split('\n')[0] });
  else if (test.state !== 'pending') entry.pass += 1;
  byFile.set(file, entry);
}
for (const [file, { pass, fail }] of [...byFile].sort()) {
  console.log(`${fail.length ? 'FAIL' : 'pass'}  ${file}  (${pass} passed${fail.length ? `, ${fail.length} failed` : ''})`);
  for (const { title, message } of fail) console.log(`        ✗ ${title}\n          ${message}`);
}
console.log(`oidc-provider ${INSTALLED}: ${stats.passes} passed, ${stats.failures} failed, ${stats.pending} pending`);
if (stats.failures > 0 || stats.passes === 0) failed = true;
console.log(failed ? 'NOT SAFE to upgrade as is: read docs/upgrading-oidc-provider.md for each failing touch point' : 'every touch point holds');
process.exit(failed ? 1 : 0);
SUMMARY
