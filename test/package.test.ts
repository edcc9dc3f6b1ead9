import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { WebSocket } from '../src/index.js';
import { run } from './cli/child.js';
import { requireBinary } from './system.js';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * What `npm install socketeer` gives a user: the packed tarball, installed in an
 * empty project with no access to this checkout, must run `socketeer serve`
 * (page included), `--version`, and the library's entry points.
 */
test('the npm package, installed from its tarball, runs socketeer serve and imports', async (t) => {
  const npm = requireBinary(t, 'npm', 'it comes with Node.js');
  if (!npm) return;
  const dir = mkdtempSync(join(tmpdir(), 'socketeer-pack-'));
  try {
    // --ignore-scripts: `prepare` would rebuild dist/ under the other tests' feet; `npm test` built it.
    await exec(npm, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root });
    // The one runtime dependency, packed from node_modules so the install works offline.
    const yamlDir = join(root, 'node_modules', 'yaml');
    await exec(npm, ['pack', '--ignore-scripts', '--pack-destination', dir, yamlDir], { cwd: root });
    const yamlVersion = JSON.parse(readFileSync(join(yamlDir, 'package.json'), 'utf8')).version;
    assert.equal(yamlVersion, pkg.dependencies.yaml, 'node_modules holds the pinned yaml');
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
    await exec(
      npm,
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        join(dir, `socketeer-${pkg.version}.tgz`),
        join(dir, `yaml-${yamlVersion}.tgz`),
      ],
      { cwd: app },
    );
    const bin = join(app, 'node_modules', '.bin', 'socketeer');

    const version = await exec(bin, ['--version'], { cwd: app });
    assert.equal(version.stdout.trim(), pkg.version);

    const imports = await exec(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('socketeer'); const w = await import('socketeer/whatwg');
         const p = await import('socketeer/proxy'); const c = await import('socketeer/protocol');
         console.log([typeof m.WebSocketServer, typeof m.ReconnectingWebSocket, typeof w.WebSocket,
           typeof p.ReverseProxy, typeof c.Connection].join(' '));`,
      ],
      { cwd: app },
    );
    assert.equal(imports.stdout.trim(), 'function function function function function');

    // Stack traces and debuggers follow the source maps: each must carry its sources,
    // since the TypeScript files they name are not in the package.
    const installed = join(app, 'node_modules', 'socketeer');
    for (const file of ['dist/src/index.js.map', 'dist/src/protocol/index.js.map']) {
      const map = JSON.parse(readFileSync(join(installed, file), 'utf8'));
      assert.equal(map.sourcesContent?.length, map.sources.length, `${file} carries its sources`);
      assert.ok(map.sourcesContent.every((text: unknown) => typeof text === 'string' && text.length > 0));
    }

    const serve = run(bin, ['serve', '--port', '0', '--host', '127.0.0.1'], { cwd: app });
    try {
      const [, web] = await serve.waitFor(/open (http:\/\/127\.0\.0\.1:\d+)\//);
      for (const [path, type, marker] of [
        ['/', 'text/html', '<html'],
        ['/app.js', 'text/javascript', 'WebSocket'],
        ['/style.css', 'text/css', '{'],
      ] as const) {
        const res = await fetch(`${web}${path}`);
        assert.equal(res.status, 200, `GET ${path}`);
        assert.match(res.headers.get('content-type') ?? '', new RegExp(type));
        assert.ok((await res.text()).includes(marker), `GET ${path} serves the page`);
      }
      const ws = await WebSocket.connect(`${web!.replace('http', 'ws')}/chat`);
      const welcome = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
      ws.send(JSON.stringify({ type: 'join', room: 'pack', nick: 'installed' }));
      const message = JSON.parse(await welcome);
      assert.deepEqual([message.type, message.users], ['welcome', ['installed']]);
      ws.close();
    } finally {
      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited, 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
