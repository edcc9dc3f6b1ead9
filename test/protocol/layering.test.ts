import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

/** The protocol core stays sans-I/O: no sockets, HTTP, TLS, streams or timers. */
test('src/protocol imports no I/O modules and uses no timers', () => {
  const dir = new URL('../../../src/protocol/', import.meta.url).pathname;
  const forbidden = /from 'node:(net|tls|http|https|http2|stream|dgram|timers|fs|child_process|zlib)'/;
  const timers = /\b(setTimeout|setInterval|setImmediate|process\.nextTick)\s*\(/;
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const source = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(source, forbidden, `${f} imports an I/O module`);
    assert.doesNotMatch(source, timers, `${f} uses a timer`);
    assert.doesNotMatch(source, /from '\.\.\//, `${f} imports from outside the core`);
  }
});
