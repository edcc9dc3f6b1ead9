import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * The messaging layer is built on the core's public API only (src/index.ts),
 * like any application would be: never on src/node or src/protocol internals.
 */
test('src/messaging imports the core only through its public entry', () => {
  const src = new URL('../../../src/', import.meta.url).pathname;
  const dir = join(src, 'messaging');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const source = readFileSync(join(dir, f), 'utf8');
    for (const [, target] of source.matchAll(/from '(\.[^']*)'/g)) {
      const resolved = relative(src, resolve(dirname(join(dir, f)), target!));
      const allowed = resolved === 'index.js' || resolved.startsWith('messaging/');
      assert.ok(
        allowed,
        `messaging/${f} imports ${target} (src/${resolved}); use the public API src/index.ts`,
      );
    }
  }
});
