import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { after, describe, test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { type Running, socketeer, socketeerToEnd } from './child.js';

/** `socketeer proxy` from the shell: flags, config files, the admin API's guard, logs (issue 13, item 10). */

const dir = mkdtempSync(`${tmpdir()}/socketeer-proxy-cli-`);
const running: Running[] = [];
const servers: WebSocketServer[] = [];
after(async () => {
  for (const r of running) r.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.exited));
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = `${dir}/${name}`;
  writeFileSync(path, text);
  return path;
}

function start(args: string[], env?: NodeJS.ProcessEnv): Running {
  const r = socketeer(['proxy', ...args], env ? { env: { ...process.env, ...env } } : {});
  running.push(r);
  return r;
}

/** A plain WebSocket backend: it answers GET with 426, as a WebSocket-only server does. */
async function wsBackend() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', heartbeatInterval: 0 });
  await server.listening();
  servers.push(server);
  const handshakes: string[] = [];
  server.on('connection', (ws, req) => {
    handshakes.push(String(req.headers['sec-websocket-key']));
    ws.on('message', (data) => ws.send(data));
  });
  return { server, handshakes, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const ROUTE = 'routes:\n  - backends: [ws://127.0.0.1:9]\n';

describe('socketeer proxy: configuration', () => {
  test('config "host" and "port" are honoured (not every interface on 8080)', async () => {
    const b = await wsBackend();
    const config = file(
      'hostport.json',
      JSON.stringify({ host: '127.0.0.1', port: 0, routes: [{ backends: [b.url] }] }),
    );
    const proxy = start(['--config', config]);
    const [, port] = await proxy.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+) /);
    assert.notEqual(Number(port), 8080);
    const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/`);
    const echoed = new Promise((r) => ws.once('message', (d) => r(String(d))));
    ws.send('via config port');
    assert.equal(await echoed, 'via config port');
    ws.close();
  });

  const refused: Array<[string, string[], RegExp]> = [
    [
      'a bad --admin value',
      ['--backend', 'ws://127.0.0.1:9', '--listen', '127.0.0.1:0', '--admin', 'nonsense'],
      /--admin must be HOST:PORT/,
    ],
    [
      '--config with other flags',
      ['--config', 'x.json', '--backend', 'ws://127.0.0.1:9'],
      /--config cannot be combined with --backend; put it in the file/,
    ],
    [
      '--health and --health-ws together',
      ['--backend', 'ws://127.0.0.1:9', '--health', '/', '--health-ws', '/'],
      /not both/,
    ],
    [
      'an admin port on every interface without a token',
      ['--backend', 'ws://127.0.0.1:9', '--listen', '127.0.0.1:0', '--admin', '0.0.0.0:0'],
      /needs a token: --admin-token TOKEN or SOCKETEER_ADMIN_TOKEN/,
    ],
    [
      'an unknown --log-format',
      ['--backend', 'ws://127.0.0.1:9', '--log-format', 'xml'],
      /--log-format must be text or json/,
    ],
  ];
  for (const [what, args, message] of refused) {
    test(`${what}: exit 2 with one clear line, nothing left listening`, async () => {
      const r = await socketeerToEnd(['proxy', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  test('YAML tls with a cert and no key: a config error naming tls.key', async () => {
    const config = file('tls.yaml', `tls:\n  cert: ${dir}/cert.pem\n${ROUTE}`);
    const r = await socketeerToEnd(['proxy', '--config', config]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"tls\.key" must be the path of a PEM file; got nothing/);
  });

  test('"listen" together with "port" in a file is refused', async () => {
    const config = file('both.yaml', `listen: 127.0.0.1:0\nport: 9000\n${ROUTE}`);
    const r = await socketeerToEnd(['proxy', '--config', config]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give "listen" or "port"\/"host", not both/);
  });
});

describe('socketeer proxy: health checks and logs', () => {
  test('--health-ws PATH checks backends with a WebSocket handshake', async () => {
    const b = await wsBackend();
    // The health check's handshake carries this fixed key (base64 of "socketeer health").
    const checked = new Promise<void>((resolve) =>
      b.server.on('connection', (_ws, req) => {
        if (req.headers['sec-websocket-key'] === 'c29ja2V0ZWVyIGhlYWx0aA==') resolve();
      }),
    );
    start(['--listen', '127.0.0.1:0', '--backend', b.url, '--health-ws', '/']);
    await checked;
  });

  test('a WebSocket backend answering 426 to a GET check: ejected, and the log says why and what to use', async () => {
    const b = await wsBackend();
    const config = file(
      'health.json',
      JSON.stringify({
        listen: '127.0.0.1:0',
        healthCheck: { type: 'http', path: '/', intervalMs: 100, unhealthyThreshold: 1 },
        routes: [{ backends: [b.url] }],
      }),
    );
    const proxy = start(['--config', config]);
    const [line] = await proxy.waitFor(/.*backend ws:\/\/127\.0\.0\.1:\d+\/ down: .*\n/, 'stderr');
    assert.match(line, /426 Upgrade Required/);
    assert.match(line, /--health-ws PATH/);
  });

  test('--log-format json: one JSON line per backend failure, ejection and 503', async () => {
    const proxy = start(['--listen', '127.0.0.1:0', '--backend', 'ws://127.0.0.1:9', '--log-format', 'json']);
    const [, port] = await proxy.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+) /);
    for (let i = 0; i < 2; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      ws.on('error', () => {});
      await new Promise((r) => ws.once('close', r));
    }
    await proxy.waitFor(/"type":"unavailable"/, 'stderr');
    const events = proxy
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; time: string; backend?: string; status?: number });
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ['backend-failure', 'backend-down', 'unavailable']);
    assert.equal(events[0]!.backend, 'ws://127.0.0.1:9/');
    assert.equal(events[0]!.status, 502);
    assert.ok(!Number.isNaN(Date.parse(events[0]!.time)));
  });

  test('the admin API over the CLI: token from SOCKETEER_ADMIN_TOKEN, Origin refused', async () => {
    const b = await wsBackend();
    const token = 'a-token-long-enough-1234';
    const proxy = start(['--listen', '127.0.0.1:0', '--backend', b.url, '--admin', '127.0.0.1:0'], {
      SOCKETEER_ADMIN_TOKEN: token,
    });
    const [, adminPort] = await proxy.waitFor(/admin on http:\/\/127\.0\.0\.1:(\d+)\/status/);
    const status = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${adminPort}/status`, { headers }).then((r) => r.status);
    assert.equal(await status({}), 401);
    assert.equal(await status({ authorization: `Bearer ${token}` }), 200);
    assert.equal(await status({ authorization: `Bearer ${token}`, origin: 'https://evil.example' }), 403);
    assert.doesNotMatch(proxy.stderr(), /has no token/);
  });
});
