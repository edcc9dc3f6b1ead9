import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * The messaging layer is built on the core's public API only (src/index.ts),
 * like any application would be: never on src/node or src/protocol internals.
 * The one other module it may use is the neutral option checker every layer
 * shares (src/check-options.ts, which imports nothing).
 */
test('src/messaging imports the core only through its public entry', () => {
  const checker = readFileSync(new URL('../../../src/check-options.ts', import.meta.url), 'utf8');
  assert.doesNotMatch(checker, /^import /m, 'check-options.ts stays neutral: it imports nothing');
  const src = new URL('../../../src/', import.meta.url).pathname;
  const dir = join(src, 'messaging');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const source = readFileSync(join(dir, f), 'utf8');
    for (const [, target] of source.matchAll(/from '(\.[^']*)'/g)) {
      const resolved = relative(src, resolve(dirname(join(dir, f)), target!));
      const allowed =
        resolved === 'index.js' || resolved === 'check-options.js' || resolved.startsWith('messaging/');
      assert.ok(
        allowed,
        `messaging/${f} imports ${target} (src/${resolved}); use the public API src/index.ts`,
      );
    }
  }
});
