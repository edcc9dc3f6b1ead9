import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

/** The `redis` package is an optional peer dependency: only the Redis engine entry may load it. */
test('only src/messaging/redis/ imports redis; nothing else imports the Redis engine statically', () => {
  const root = new URL('../../../src/', import.meta.url).pathname;
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 20);
  const engineFiles = files.filter((f) => f.startsWith(join('messaging', 'redis')));
  assert.ok(
    engineFiles.some((f) => /from 'redis'/.test(readFileSync(join(root, f), 'utf8'))),
    'the engine uses redis',
  );
  for (const f of files) {
    if (engineFiles.includes(f)) continue;
    const source = readFileSync(join(root, f), 'utf8');
    const where = relative(root, join(root, f));
    assert.doesNotMatch(source, /from '(redis|@redis\/[^']*)'/, `${where} imports the redis package`);
    assert.doesNotMatch(
      source,
      /^import [^;]*from '[^']*\/redis\/[^']*'/m,
      `${where} imports the Redis engine statically`,
    );
  }
});
