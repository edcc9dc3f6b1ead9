import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { WebSocket } from '../../src/index.js';

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
    // Each command's Options block (up to its first blank line) lists -h, --help with the others.
    for (const command of ['serve', 'echo', 'connect', 'proxy', 'sub', 'pub', 'presence']) {
      const { stdout } = await cli([command, '--help']);
      const options = /\nOptions[^\n]*:\n([\s\S]*?)(\n\n|$)/.exec(stdout)?.[1];
      assert.match(options ?? '', /^ {2}-h, --help {2,}show this help$/m, `${command} --help:\n${stdout}`);
    }
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
    [
      ['echo', '--bogus'],
      /^socketeer: unknown option "--bogus"; echo's options are --port, --host, --tls-cert, --tls-key, --max-message, --no-deflate; see "socketeer echo --help"\n$/,
    ],
    // A typo after the URL: the options that exist, not parseArgs' advice on positionals after '--'.
    [
      ['connect', 'ws://x/', '--bogus'],
      /^socketeer: unknown option "--bogus"; connect's options are -c\/--connect, -x\/--execute, -w\/--wait, --echo, [^\n]*--no-deflate, --no-color, --slash; see "socketeer connect --help"\n$/,
    ],
    [['echo', '--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    [['connect'], /a URL is required/],
    [
      ['serve', '--port', '-1'],
      /Option '--port' argument is ambiguous; to pass an option argument starting with a dash use '--port=-XYZ'/,
    ],
    [['serve', '--port=-1'], /--port must be a number from 0 to 65535; got "-1"/],
    [['serve', 'extra'], /unexpected argument "extra"|Unexpected argument 'extra'/],
    [
      ['connect', 'ftp://x/'],
      /^socketeer: the URL must start with ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ /,
    ],
    [['connect', 'ws://x/', '--header', 'novalue'], /--header must look like "Name: value"/],
  ];
  // Independent processes: run side by side, so the file stays well inside its time limit under load.
  describe('bad arguments', { concurrency: 4 }, () => {
    for (const [args, message] of bad) {
      test(`bad arguments: ${args.join(' ')} -> exit 2, one clear line`, async () => {
        const r = await cli(args);
        assert.equal(r.code, 2);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      });
    }
  });

  test('connect wss:// to a plain ws:// server: one line that suggests ws://, exit 1', async () => {
    const { child: echo, port } = await startEcho();
    try {
      const r = await cli(['connect', `wss://127.0.0.1:${port}/x`], '');
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `socketeer connect: cannot connect to wss://127.0.0.1:${port}/x: no TLS at that address (is it a ws:// server? try ws://127.0.0.1:${port}/x)\n`,
      );
    } finally {
      echo.kill('SIGINT');
      await once(echo, 'exit');
    }
  });

  test('serve --redis with no Redis there: one line, exit 1 (not the usage-error 2)', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const r = await cli([
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--redis',
      `redis://127.0.0.1:${port}`,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^socketeer: Redis engine could not start: [^\n]*ECONNREFUSED[^\n]*\n$/);
  });

  test('a port in use names the setting that picks another: --port, --listen or --admin', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as AddressInfo).port;
    try {
      const cases: Array<[string[], string]> = [
        [['echo', '--host', '127.0.0.1', '--port', String(port)], '--port'],
        [['proxy', '--backend', 'ws://127.0.0.1:1', '--listen', `127.0.0.1:${port}`], '--listen'],
        [
          [
            'proxy',
            '--backend',
            'ws://127.0.0.1:1',
            '--listen',
            '127.0.0.1:0',
            '--admin',
            `127.0.0.1:${port}`,
          ],
          '--admin',
        ],
      ];
      for (const [args, setting] of cases) {
        const r = await cli(args);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr, `socketeer: port ${port} is already in use; pick another with ${setting}\n`);
      }
    } finally {
      taken.close();
    }
  });

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
      // A file that does not parse was read: say what is wrong with it, not "cannot read".
      const notJson = `${dir}/proxy.conf`;
      writeFileSync(notJson, 'listen: 127.0.0.1:0\n');
      const unparsed = await cli(['proxy', '--config', notJson]);
      assert.equal(unparsed.code, 2);
      assert.match(
        unparsed.stderr,
        /^socketeer: \S+\/proxy\.conf is not valid JSON: .+ \(a file named \.yaml or \.yml is read as YAML\)\n$/,
      );
      const notYaml = `${dir}/broken.yml`;
      writeFileSync(notYaml, 'routes: [\n');
      const unparsedYaml = await cli(['proxy', '--config', notYaml]);
      assert.equal(unparsedYaml.code, 2);
      assert.match(unparsedYaml.stderr, /^socketeer: \S+\/broken\.yml is not valid YAML: [^\n]+\n$/);
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

  test('npx socketeer resolves to the bin entry', async () => {
    assert.equal(pkg.bin.socketeer, './bin/socketeer.js');
    const { stdout } = await exec(process.execPath, [BIN, '-v']);
    assert.equal(stdout.trim(), pkg.version);
  });
});
