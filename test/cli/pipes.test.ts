import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { startServer } from '../node/net-helpers.js';
import { requireBinary } from '../system.js';
import { BIN, run, socketeer, socketeerToEnd } from './child.js';

/** Start `socketeer echo` on a free loopback port and read the URL it prints. */
async function startEcho(...flags: string[]) {
  const echo = socketeer(['echo', '--port', '0', '--host', '127.0.0.1', ...flags]);
  const [, url] = await echo.waitFor(/listening on (ws:\/\/127\.0\.0\.1:\d+)\n/);
  return { echo, url: url! };
}

async function stop(child: ReturnType<typeof socketeer>, signal: NodeJS.Signals = 'SIGTERM') {
  child.child.kill(signal);
  return child.exited;
}

describe('serve, echo and connect: pipes, a terminal, compression', () => {
  test('serve + connect in a pipe: the chat protocol from a shell', async () => {
    const serve = socketeer(['serve', '--port', '0', '--host', '127.0.0.1', '--echo']);
    try {
      const [, web] = await serve.waitFor(/open (http:\/\/\S+)\//);
      assert.match(serve.stdout(), /echo at ws:\/\/127\.0\.0\.1:\d+\/echo/);
      assert.equal((await fetch(`${web}/`)).status, 200);
      // The chat answers asynchronously: end the input once the message came back (a shell would use --wait).
      const client = socketeer(['connect', `${web!.replace('http', 'ws')}/chat`]);
      client.child.stdin!.write('{"type":"join","room":"cli","nick":"shell"}\n');
      client.child.stdin!.write('{"type":"message","text":"from a pipe"}\n');
      await client.waitFor(/"text":"from a pipe"/);
      client.child.stdin!.end();
      assert.equal(await client.exited, 0);
      const lines = client
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines[0].type, 'welcome');
      assert.deepEqual(lines[0].users, ['shell']);
      const said = lines.find((l) => l.type === 'message');
      assert.deepEqual([said?.nick, said?.text], ['shell', 'from a pipe']);
    } finally {
      await stop(serve);
    }
  });

  test('echo server + connect in a pipe', async () => {
    const { echo, url } = await startEcho();
    try {
      const r = await socketeerToEnd(['connect', `${url}/any/path`], 'first line\nsecond line\n');
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'first line\nsecond line\n', '']);
    } finally {
      await stop(echo);
    }
  });

  test('echo server shuts down gracefully on SIGTERM: clients get 1001', async () => {
    const { echo, url } = await startEcho();
    const ws = await WebSocket.connect(`${url}/`);
    const closed = once(ws, 'close');
    echo.child.kill('SIGTERM');
    assert.equal((await closed)[0], 1001);
    assert.equal(await echo.exited, 0);
  });

  test('connect --echo echoes until the server closes, then exits 0', async () => {
    const { server, url } = await startServer();
    const echoed: Array<string | Buffer> = [];
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        echoed.push(data);
        if (echoed.length === 2) ws.close(1000, 'enough');
      });
      ws.send('one');
      ws.send(Buffer.from([1, 2, 3]));
    });
    try {
      const r = await socketeerToEnd(['connect', '--echo', url]);
      assert.equal(r.code, 0);
      assert.deepEqual(echoed, ['one', Buffer.from([1, 2, 3])]);
    } finally {
      await server.close();
    }
  });

  test('connect: --binary-format, --json, and --wait keeps reading after the end of input', async () => {
    const { server, url } = await startServer();
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        if (data === 'binary') ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
        else if (data === 'json') ws.send('{"a":[1,2]}');
        else if (data === 'late') {
          // Answer after a while, then end the session: the client must still be reading.
          setTimeout(() => {
            if (ws.readyState !== ws.OPEN) return;
            ws.send('late reply');
            ws.close(1000);
          }, 100);
        }
      });
    });
    try {
      const b64 = await socketeerToEnd(['connect', url, '--binary-format', 'base64'], 'binary\n');
      assert.equal(b64.stdout, '3q2+7w==\n');
      const hex = await socketeerToEnd(['connect', url], 'binary\n');
      assert.equal(hex.stdout, 'deadbeef\n');
      const json = await socketeerToEnd(['connect', url, '--json'], 'json\n');
      assert.equal(json.stdout, '{\n  "a": [\n    1,\n    2\n  ]\n}\n');
      const waited = await socketeerToEnd(['connect', url, '--wait', '60'], 'late\n');
      assert.deepEqual([waited.code, waited.stdout], [0, 'late reply\n']);
      assert.ok(!(b64.stdout + json.stdout).includes('\u001b['), 'no colour codes when not on a terminal');
      const bad = await socketeerToEnd(['connect', url, '--binary-format', 'octal']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--binary-format must be hex or base64; got "octal"/);
    } finally {
      await server.close();
    }
  });

  test('echo and connect --echo negotiate permessage-deflate by default; --no-deflate turns it off', async () => {
    for (const [flags, extensions] of [
      [[], /^permessage-deflate/],
      [['--no-deflate'], /^$/],
    ] as const) {
      const { echo, url } = await startEcho(...flags);
      try {
        const ws = await WebSocket.connect(`${url}/`);
        assert.match(ws.extensions, extensions);
        ws.close();
        await once(ws, 'close');
      } finally {
        await stop(echo);
      }
    }
    const { server, url } = await startServer({ perMessageDeflate: true });
    const offers: Array<string | undefined> = [];
    server.on('connection', (peer, req) => {
      offers.push(req.headers['sec-websocket-extensions']);
      peer.close(1000);
    });
    try {
      assert.equal((await socketeerToEnd(['connect', '--echo', url])).code, 0);
      assert.equal((await socketeerToEnd(['connect', '--echo', '--no-deflate', url])).code, 0);
      assert.deepEqual(offers, ['permessage-deflate; client_max_window_bits', undefined]);
    } finally {
      await server.close();
    }
  });

  test('connect on a terminal: prompt, /ping, /close, colour unless NO_COLOR', async (t) => {
    if (!requireBinary(t, 'script', 'apt-get install bsdutils')) return;
    const { server, url } = await startServer();
    server.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    try {
      for (const noColor of [false, true]) {
        const env = { ...process.env };
        if (noColor) env.NO_COLOR = '1';
        else delete env.NO_COLOR;
        // script(1) runs the client on a pseudo-terminal, so stdin.isTTY is true.
        const tty = run('script', ['-qfec', `${process.execPath} ${BIN} connect ${url}/`, '/dev/null'], {
          env,
        });
        try {
          await tty.waitFor(/connected to ws:\/\/127\.0\.0\.1:\d+\/; \/help for commands/);
          tty.child.stdin!.write('hello tty\r');
          await tty.waitFor(/< hello tty/);
          tty.child.stdin!.write('/ping are you there\r');
          await tty.waitFor(/pong: are you there/);
          tty.child.stdin!.write('/close 1005\r');
          await tty.waitFor(/close code must be 1000/);
          tty.child.stdin!.write('/close 4000 bye\r');
          await tty.waitFor(/closed: 4000 bye/);
          tty.child.stdin!.end(); // script(1) keeps reading its input until it ends
          assert.equal(await tty.exited, 0, 'a close the user asked for is a normal end');
          assert.equal(
            tty.stdout().includes('\u001b[32m'),
            !noColor,
            noColor ? 'no colour with NO_COLOR' : 'colour on a terminal',
          );
        } finally {
          tty.child.kill('SIGKILL');
        }
      }
    } finally {
      await server.close();
    }
  });

  test('connect to a closed port: exit 1 with a one-line cause', async () => {
    const r = await socketeerToEnd(['connect', 'ws://127.0.0.1:1/']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^socketeer connect: cannot connect to ws:\/\/127\.0\.0\.1:1\/: connect ECONNREFUSED/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
