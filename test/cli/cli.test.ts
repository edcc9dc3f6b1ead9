import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { requireBinary } from '../system.js';

const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
const exec = promisify(execFile);

async function cli(args: string[], input?: string) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (input !== undefined) child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number, stdout, stderr };
}

/** Start `socketeer echo --port 0` and read the port it reports. */
async function startEcho(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'echo', '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  while (!/listening on ws:\/\/[^\s]+:(\d+)/.test(out)) {
    const [chunk] = await once(child.stdout!, 'data');
    out += chunk;
  }
  return { child, port: Number(/:(\d+)\n/.exec(out)![1]) };
}

describe('socketeer CLI', () => {
  test('--help, <command> --help and --version', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Commands:[\s\S]*echo[\s\S]*connect/);
    const echoHelp = await cli(['echo', '--help']);
    assert.match(echoHelp.stdout, /Usage: socketeer echo/);
    const connectHelp = await cli(['connect', '--help']);
    assert.match(connectHelp.stdout, /--echo/);
    const version = await cli(['--version']);
    assert.equal(version.stdout.trim(), pkg.version);
  });

  const bad: Array<[string[], RegExp]> = [
    [
      ['frobnicate'],
      /^socketeer: unknown command "frobnicate"; commands are: serve, echo, connect, proxy, sub, pub, presence\n$/,
    ],
    [['proxy'], /give at least one --backend URL \(or --config FILE\)/],
    [
      ['proxy', '--backend', 'ws://127.0.0.1:1', '--balance', 'random'],
      /--balance must be round-robin, least-connections/,
    ],
    [
      ['proxy', '--backend', 'ftp://x'],
      /"routes\[0\]\.backends\[0\]" must be a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL/,
    ],
    [['proxy', '--backend', 'ws://127.0.0.1:1', '--listen', '8080'], /--listen must be HOST:PORT/],
    [['proxy', '--config', '/nonexistent.json'], /cannot read \/nonexistent\.json/],
    [['echo', '--port', 'eighty'], /^socketeer: --port must be a number from 0 to 65535; got "eighty"\n$/],
    [['echo', '--bogus'], /^socketeer: Unknown option '--bogus'; see "socketeer echo --help"\n$/],
    [['echo', '--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    [['connect'], /a URL is required/],
    [
      ['serve', '--port', '-1'],
      /Option '--port' argument is ambiguous; to pass an option argument starting with a dash use '--port=-XYZ'/,
    ],
    [['serve', '--port=-1'], /--port must be a number from 0 to 65535; got "-1"/],
    [['serve', 'extra'], /unexpected argument "extra"|Unexpected argument 'extra'/],
    [['connect', 'ftp://x/'], /must start with ws:\/\/ or wss:\/\//],
    [['connect', 'ws://x/', '--header', 'novalue'], /--header must look like "Name: value"/],
  ];
  for (const [args, message] of bad) {
    test(`bad arguments: ${args.join(' ')} -> exit 2, one clear line`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  test('proxy: relays to the backend, reports status on the admin port, exits 0 on SIGTERM', async () => {
    const { child: echo, port: echoPort } = await startEcho();
    const probe = await import('node:net');
    const free = async () => {
      const s = probe.createServer().listen(0, '127.0.0.1');
      await once(s, 'listening');
      const p = (s.address() as AddressInfo).port;
      s.close();
      return p;
    };
    const [edgePort, adminPort] = [await free(), await free()];
    const proxy = spawn(
      process.execPath,
      [
        BIN,
        'proxy',
        '--listen',
        `127.0.0.1:${edgePort}`,
        '--backend',
        `ws://127.0.0.1:${echoPort}`,
        '--admin',
        `127.0.0.1:${adminPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      while (!out.includes('socketeer proxy: listening')) out += (await once(proxy.stdout!, 'data'))[0];
      assert.match(
        out,
        new RegExp(`listening on http://127\\.0\\.0\\.1:${edgePort} -> / \\(round-robin, splice\\)`),
      );
      const ws = await WebSocket.connect(`ws://127.0.0.1:${edgePort}/`);
      const echoed = new Promise((r) => ws.once('message', (d) => r(String(d))));
      ws.send('through the proxy');
      assert.equal(await echoed, 'through the proxy');
      const status = await fetch(`http://127.0.0.1:${adminPort}/status`).then((r) => r.json());
      assert.equal((status as { connections: number }).connections, 1);
      const closedWith = new Promise((r) => ws.once('close', (code) => r(code)));
      proxy.kill('SIGTERM');
      assert.equal(await closedWith, 1001);
      const [code] = await once(proxy, 'exit');
      assert.equal(code, 0);
    } finally {
      proxy.kill('SIGKILL');
      echo.kill('SIGINT');
      await once(echo, 'exit');
    }
  });

  test('proxy --config: YAML and JSON files, with errors that name the bad key', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/socketeer-proxy-`);
    try {
      const badYaml = `${dir}/bad.yaml`;
      writeFileSync(badYaml, 'routes:\n  - backends: [ws://127.0.0.1:1]\n    balanse: round-robin\n');
      const bad = await cli(['proxy', '--config', badYaml]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /proxy config: routes\[0\]: unknown option "balanse"/);
      const badJson = `${dir}/bad.json`;
      writeFileSync(badJson, JSON.stringify({ routes: [{ backends: ['ws://127.0.0.1:1'], mode: 'tee' }] }));
      const r = await cli(['proxy', '--config', badJson]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /"routes\[0\]\.mode" must be "splice" or "inspect"; got "tee"/);
      const { child: echo, port: echoPort } = await startEcho();
      const good = `${dir}/good.yaml`;
      writeFileSync(
        good,
        `listen: 127.0.0.1:0\nroutes:\n  - path: /echo\n    mode: inspect\n    backends:\n      - ws://127.0.0.1:${echoPort}\n`,
      );
      const proxy = spawn(process.execPath, [BIN, 'proxy', '--config', good], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let out = '';
        while (!out.includes('\n')) out += (await once(proxy.stdout!, 'data'))[0];
        const port = Number(/127\.0\.0\.1:(\d+) -> \/echo \(round-robin, inspect\)/.exec(out)?.[1]);
        assert.ok(port > 0, out);
        const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/echo`);
        const echoed = new Promise((resolve) => ws.once('message', (d) => resolve(String(d))));
        ws.send('yaml routed');
        assert.equal(await echoed, 'yaml routed');
        ws.close();
      } finally {
        proxy.kill('SIGKILL');
        echo.kill('SIGINT');
        await once(echo, 'exit');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('serve + connect in a pipe: the chat protocol from a shell', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--echo'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      for (let i = 0; i < 200 && !/open (http:\/\/\S+)\//.test(out); i++)
        await new Promise((r) => setTimeout(r, 25));
      const web = /open (http:\/\/\S+)\//.exec(out)![1]!;
      assert.match(out, /echo at ws:\/\/127\.0\.0\.1:\d+\/echo/);
      assert.equal((await fetch(`${web}/`)).status, 200);
      const input = '{"type":"join","room":"cli","nick":"shell"}\n{"type":"message","text":"from a pipe"}\n';
      const r = await cli(['connect', `${web.replace('http', 'ws')}/chat`, '--wait', '0.3'], input);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines[0].type, 'welcome');
      assert.deepEqual(lines[0].users, ['shell']);
      assert.deepEqual([lines[1].type, lines[1].nick, lines[1].text], ['message', 'shell', 'from a pipe']);
      assert.equal(r.code, 0);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  test('echo server + connect in a pipe', async () => {
    const { child, port } = await startEcho();
    try {
      const r = await cli(['connect', `ws://127.0.0.1:${port}/any/path`], 'first line\nsecond line\n');
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'first line\nsecond line\n');
      assert.equal(r.code, 0);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  test('echo server shuts down gracefully on SIGTERM: clients get 1001', async () => {
    const { child, port } = await startEcho();
    const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/`);
    const closed = once(ws, 'close');
    child.kill('SIGTERM');
    const [code] = await closed;
    assert.equal(code, 1001);
    const [exitCode] = await once(child, 'exit');
    assert.equal(exitCode, 0);
  });

  test('connect --echo echoes until the server closes, then exits 0', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    const echoed: Array<string | Buffer> = [];
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        echoed.push(data);
        if (echoed.length === 2) ws.close(1000, 'enough');
      });
      ws.send('one');
      ws.send(Buffer.from([1, 2, 3]));
    });
    await server.listening();
    const port = (server.address() as AddressInfo).port;
    const r = await cli(['connect', '--echo', `ws://127.0.0.1:${port}/`]);
    assert.equal(r.code, 0);
    assert.deepEqual(echoed, ['one', Buffer.from([1, 2, 3])]);
    await server.close();
  });

  test('connect: --binary-format, --json, and --wait for late replies', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        if (data === 'binary') ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
        else if (data === 'json') ws.send('{"a":[1,2]}');
        else if (data === 'late') setTimeout(() => ws.readyState === ws.OPEN && ws.send('late reply'), 300);
      });
    });
    await server.listening();
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const b64 = await cli(['connect', url, '--binary-format', 'base64', '--wait', '0.3'], 'binary\n');
    assert.equal(b64.stdout, '3q2+7w==\n');
    const hex = await cli(['connect', url, '--wait', '0.3'], 'binary\n');
    assert.equal(hex.stdout, 'deadbeef\n');
    const json = await cli(['connect', url, '--json', '--wait', '0.3'], 'json\n');
    assert.equal(json.stdout, '{\n  "a": [\n    1,\n    2\n  ]\n}\n');
    const waited = await cli(['connect', url, '--wait', '1'], 'late\n');
    assert.equal(waited.stdout, 'late reply\n');
    assert.equal(waited.code, 0);
    assert.ok(!(b64.stdout + json.stdout).includes('\u001b['), 'no colour codes when not on a terminal');
    const bad = await cli(['connect', url, '--binary-format', 'octal']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--binary-format must be hex or base64; got "octal"/);
    await server.close();
  });

  test('echo and connect --echo negotiate permessage-deflate by default; --no-deflate turns it off', async () => {
    const { child, port } = await startEcho();
    try {
      const compressed = await WebSocket.connect(`ws://127.0.0.1:${port}/`);
      assert.match(compressed.extensions, /^permessage-deflate/);
      compressed.close();
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const plain = spawn(
      process.execPath,
      [BIN, 'echo', '--port', '0', '--host', '127.0.0.1', '--no-deflate'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    plain.stdout.on('data', (d) => (out += d));
    for (let i = 0; i < 200 && !/:(\d+)\n/.test(out); i++) await new Promise((r) => setTimeout(r, 25));
    const ws = await WebSocket.connect(`ws://127.0.0.1:${/:(\d+)\n/.exec(out)![1]}/`);
    assert.equal(ws.extensions, '');
    ws.close();
    plain.kill('SIGTERM');
    await once(plain, 'exit');

    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    const offers: Array<string | undefined> = [];
    server.on('connection', (peer, req) => {
      offers.push(req.headers['sec-websocket-extensions']);
      peer.close(1000);
    });
    await server.listening();
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    assert.equal((await cli(['connect', '--echo', url])).code, 0);
    assert.equal((await cli(['connect', '--echo', '--no-deflate', url])).code, 0);
    assert.deepEqual(offers, ['permessage-deflate; client_max_window_bits', undefined]);
    await server.close();
  });

  test('connect on a terminal: prompt, /ping, /close, colour unless NO_COLOR', async (t) => {
    if (!requireBinary(t, 'script', 'apt-get install bsdutils')) return;
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    await server.listening();
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (const noColor of [false, true]) {
      const env = { ...process.env };
      if (noColor) env.NO_COLOR = '1';
      else delete env.NO_COLOR;
      // script(1) runs the client on a pseudo-terminal, so stdin.isTTY is true.
      const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} connect ${url}`, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env,
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');
      const plain = () => out.replace(ansi, '');
      const until = async (pattern: RegExp) => {
        for (let i = 0; i < 200 && !pattern.test(plain()); i++) await new Promise((r) => setTimeout(r, 25));
        assert.match(plain(), pattern);
      };
      await until(/connected to ws:\/\/127\.0\.0\.1:\d+\/; \/help for commands/);
      child.stdin.write('hello tty\r');
      await until(/< hello tty/);
      child.stdin.write('/ping are you there\r');
      await until(/pong: are you there/);
      child.stdin.write('/close 1005\r');
      await until(/close code must be 1000/);
      child.stdin.write('/close 4000 bye\r');
      const exited = once(child, 'exit');
      await until(/closed: 4000 bye/);
      child.stdin.end(); // script(1) keeps reading its input until it ends
      const [code] = await exited;
      assert.equal(code, 0, 'a close the user asked for is a normal end');
      assert.equal(
        out.includes('\u001b[32m'),
        !noColor,
        noColor ? 'no colour with NO_COLOR' : 'colour on a terminal',
      );
    }
    await server.close();
  });

  test('connect to a closed port: exit 1 with a one-line cause', async () => {
    const r = await cli(['connect', 'ws://127.0.0.1:1/']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^socketeer connect: cannot connect to ws:\/\/127\.0\.0\.1:1\/: connect ECONNREFUSED/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('npx socketeer resolves to the bin entry', async () => {
    assert.equal(pkg.bin.socketeer, './bin/socketeer.js');
    const { stdout } = await exec(process.execPath, [BIN, '-v']);
    assert.equal(stdout.trim(), pkg.version);
  });
});
