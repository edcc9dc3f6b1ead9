import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * The messaging layer is built on the core's public API only ('../index.js'),
 * like any application would be: never on src/node or src/protocol internals.
 */
test('src/messaging imports the core only through its public entry', () => {
  const dir = new URL('../../../src/messaging/', import.meta.url).pathname;
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const source = readFileSync(join(dir, f), 'utf8');
    for (const [, target] of source.matchAll(/from '(\.\.\/[^']*)'/g)) {
      const depth = f.split('/').length - 1;
      const publicEntry = `${'../'.repeat(depth + 1)}index.js`;
      assert.equal(target, publicEntry, `${f} imports ${target}; use the public API '${publicEntry}'`);
    }
  }
});
