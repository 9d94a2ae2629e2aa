// The console's action picker (src/audit/audit-actions.ts) offers every action the server writes: the sources that
// write the trail are read for the action names they write.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { AUDIT_ACTION_FAMILIES } from '../../src/audit/audit-actions.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');
/** How the sources name the action of an entry: `action: 'x'`, `record('x'`, either as a choice `c ? 'x' : 'y'`. */
const ACTION_WRITTEN = [
  /\baction: '([^']+)'/g,
  /\baction: [^,'`]*\? '([^']+)' : '([^']+)'/g,
  /\brecord\((?:target, )?'([^']+)'/g,
  /\brecord\([^,'`]*\? '([^']+)' : '([^']+)'/g,
];

function actionsWritten(source: string): string[] {
  return ACTION_WRITTEN.flatMap((pattern) => [...source.matchAll(pattern)].flatMap(([, ...names]) => names.filter((name): name is string => name !== undefined)));
}

describe('the audit actions the console offers', function () {
  it('lists every action the server writes to the trail, each once', async function () {
    const files = (await readdir(SRC, { recursive: true })).filter((file) => file.endsWith('.ts') && !file.startsWith('sdk'));
    const written = new Set<string>();
    for (const file of files) {
      const source = await readFile(join(SRC, file), 'utf8');
      if (/\.record\(|recordLater\(/.test(source)) for (const name of actionsWritten(source)) written.add(name);
    }
    const listed = AUDIT_ACTION_FAMILIES.flatMap((family) => family.actions);
    expect(new Set(listed).size, 'no action twice').to.equal(listed.length);
    expect(written.size, 'the scan finds the trail’s writers').to.be.above(20);
    expect([...written].filter((name) => !listed.includes(name)), 'written but not offered').to.deep.equal([]);
    for (const family of AUDIT_ACTION_FAMILIES) {
      if (family.prefix) expect(family.actions.every((name) => name.startsWith(family.prefix!.slice(0, -1))), family.label).to.equal(true);
    }
  });
});
