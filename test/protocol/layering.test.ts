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

/** Every .ts file under `dir` (relative to the repository), recursively. */
function sources(dir: string): Array<{ path: string; source: string }> {
  const root = new URL('../../../', import.meta.url).pathname;
  const out: Array<{ path: string; source: string }> = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = join(relative, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push({ path, source: readFileSync(join(root, path), 'utf8') });
    }
  };
  walk(dir);
  return out;
}

const imports = (source: string) => [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);

test("src/node's internal hooks stay inside src/node", () => {
  const outside = sources('src').filter((f) => !f.path.startsWith('src/node/'));
  assert.ok(outside.length > 10);
  for (const { path, source } of outside) {
    for (const target of imports(source)) {
      assert.doesNotMatch(target, /node\/internal\.js$/, `${path} imports src/node/internal.ts`);
    }
  }
});

test('client and server code do not import each other; the handshake does not import the socket class', () => {
  const client = sources('src/node/client');
  const server = sources('src/node/server');
  assert.ok(client.length >= 4 && server.length >= 6);
  for (const { path, source } of client) {
    for (const target of imports(source)) {
      assert.doesNotMatch(target, /\/server\//, `${path} imports server code (${target})`);
      assert.doesNotMatch(target, /websocket\.js$/, `${path} imports the WebSocket class (${target})`);
    }
  }
  for (const { path, source } of server) {
    for (const target of imports(source)) {
      assert.doesNotMatch(target, /\/client\//, `${path} imports client code (${target})`);
    }
  }
});

test('internal.ts is a leaf and defaults.ts imports only constants: anyone may import them without a cycle', () => {
  const [internal] = sources('src/node').filter((f) => f.path === 'src/node/internal.ts');
  assert.ok(internal);
  assert.deepEqual(imports(internal.source), []);
  const [defaults] = sources('src/node').filter((f) => f.path === 'src/node/defaults.ts');
  assert.deepEqual(imports(defaults!.source), ['../protocol/constants.js']);
});
