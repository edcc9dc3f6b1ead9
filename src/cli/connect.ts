import { createInterface } from 'node:readline';
import type { ClientOptions } from '../node/client.js';
import { WebSocket } from '../node/websocket.js';
import { parseCommand, readFlagFile, UsageError } from './args.js';
import { paint } from './colour.js';

export const connectHelp = `Usage: socketeer connect URL [options]

Connect to a WebSocket server, like wscat.

On a terminal: type a line to send it; received messages are printed as they
arrive. Commands: /ping [text], /close [code] [reason], /help. Ctrl-D closes.

In a pipeline (stdin not a terminal): each input line is sent as a text
message and each received message is written to stdout, one per line. At the
end of input the client closes with 1000 and exits once the closing handshake
is done.

Options:
  --echo                   send every received message back unchanged until the
                           server closes (for conformance suites); exit 0 once
                           connected and closed
  -H, --header "K: V"      add a request header (repeatable)
  --subprotocol NAME       offer a subprotocol (repeatable)
  --binary-format FORMAT   how to print binary messages: hex (default) or base64
  --json                   pretty-print messages that are JSON
  --wait SECONDS           after the end of input, wait this long before closing
  --ca FILE                trust this PEM CA certificate for wss://
  --insecure               do not verify the server's TLS certificate
  --max-message N          largest message accepted, in bytes (default 67108864)
  --no-deflate             do not offer permessage-deflate (offered by default)
  -h, --help               show this help

Exit status: 0 after a normal close (1000/1001), 1 when the connection fails
or closes otherwise (the cause on one line), 2 for usage errors.
`;

const localClose = { requested: false };

interface ConnectFlags {
  echo: boolean;
  json: boolean;
  binaryFormat: 'hex' | 'base64';
  waitSeconds: number;
}

export async function runConnect(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    'connect',
    args,
    {
      echo: { type: 'boolean' },
      header: { type: 'string', short: 'H', multiple: true },
      subprotocol: { type: 'string', multiple: true },
      'binary-format': { type: 'string' },
      json: { type: 'boolean' },
      wait: { type: 'string' },
      ca: { type: 'string' },
      insecure: { type: 'boolean' },
      'max-message': { type: 'string' },
      'no-deflate': { type: 'boolean' },
    },
    1,
  );
  const url = positionals[0];
  if (!url) throw new UsageError('a URL is required, e.g. socketeer connect ws://localhost:8000/chat');
  const binaryFormat = (values['binary-format'] as string | undefined) ?? 'hex';
  if (binaryFormat !== 'hex' && binaryFormat !== 'base64') {
    throw new UsageError(`--binary-format must be hex or base64; got "${binaryFormat}"`);
  }
  const waitSeconds = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
    throw new UsageError(`--wait must be a number of seconds (0 or more); got "${values.wait}"`);
  }
  const flags: ConnectFlags = {
    echo: values.echo === true,
    json: values.json === true,
    binaryFormat,
    waitSeconds,
  };
  const options = clientOptions(values);

  let ws: WebSocket;
  try {
    ws = new WebSocket(url, values.subprotocol as string[] | undefined, options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const interactive = !flags.echo && process.stdin.isTTY === true;
  let opened = false;
  /** A close the user asked for (/close, Ctrl-D, end of input) is a normal end. */
  const closedByUs = () => ws.closeCode !== undefined && ws.wasClean && localClose.requested;
  let output: (line: string) => void = (line) => {
    process.stdout.write(`${line}\n`);
  };
  ws.on('open', () => {
    opened = true;
    if (flags.echo) return;
    if (interactive) output = startTerminal(ws, flags);
    else startPipe(ws, flags);
  });
  ws.on('message', (data, isBinary) => {
    if (flags.echo) {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
      return;
    }
    output(formatMessage(data, isBinary, flags, interactive));
  });
  return new Promise<number>((resolve) => {
    ws.on('close', (code, reason) => {
      if (!opened) {
        process.stderr.write(
          `socketeer connect: cannot connect to ${url}: ${ws.lastError?.message ?? reason}\n`,
        );
        return resolve(1);
      }
      if (flags.echo) return resolve(0);
      const normal = code === 1000 || code === 1001 || closedByUs();
      if (interactive)
        output(paint(normal ? 'green' : 'red', `closed: ${code}${reason ? ` ${reason}` : ''}`));
      else if (!normal)
        process.stderr.write(`socketeer connect: closed with ${code}${reason ? ` (${reason})` : ''}\n`);
      resolve(normal ? 0 : 1);
    });
  });
}

function clientOptions(values: Record<string, unknown>): ClientOptions {
  const options: ClientOptions = {};
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must look like "Name: value"; got "${h}"`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (Object.keys(headers).length > 0) options.headers = headers;
  if (values.ca !== undefined) options.ca = readFlagFile(values.ca as string);
  if (values.insecure) options.rejectUnauthorized = false;
  options.perMessageDeflate = values['no-deflate'] !== true;
  if (values['max-message'] !== undefined) {
    const n = Number(values['max-message']);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(
        `--max-message must be a positive number of bytes; got "${values['max-message']}"`,
      );
    }
    options.maxMessageSize = n;
  }
  return options;
}

function formatMessage(
  data: string | Buffer,
  isBinary: boolean,
  flags: ConnectFlags,
  interactive: boolean,
): string {
  let text: string;
  if (isBinary) {
    text = (data as Buffer).toString(flags.binaryFormat);
    if (interactive)
      text = `${paint('dim', `[binary ${(data as Buffer).length} bytes, ${flags.binaryFormat}]`)} ${text}`;
  } else {
    text = data as string;
    if (flags.json) {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not JSON: print as it came.
      }
    }
  }
  return interactive ? `${paint('cyan', '<')} ${text}` : text;
}

/** Pipeline mode: lines in, messages out; close at the end of input (after --wait). */
function startPipe(ws: WebSocket, flags: ConnectFlags): void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on('line', (line) => {
    if (ws.readyState === ws.OPEN) ws.send(line);
  });
  lines.on('close', () => {
    setTimeout(() => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
    }, flags.waitSeconds * 1000).unref();
  });
}

/** Terminal mode: a prompt, slash commands, and incoming messages printed above the prompt. */
function startTerminal(ws: WebSocket, _flags: ConnectFlags): (line: string) => void {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: paint('dim', '> ') });
  const print = (line: string) => {
    process.stdout.write('\r\x1b[K');
    process.stdout.write(`${line}\n`);
    if (ws.readyState === ws.OPEN) rl.prompt(true);
  };
  print(
    paint(
      'green',
      `connected to ${ws.url}${ws.protocol ? ` (subprotocol ${ws.protocol})` : ''}; /help for commands`,
    ),
  );
  ws.on('pong', (payload) => print(paint('dim', `pong${payload.length ? ` ${payload.toString()}` : ''}`)));
  rl.on('line', (line) => {
    try {
      if (line === '/help') {
        print(
          '/ping [text]   send a ping\n/close [code] [reason]   close (code 1000 or 3000-4999)\nCtrl-D   close with 1000',
        );
      } else if (line === '/ping' || line.startsWith('/ping ')) {
        ws.ping(line.slice(6));
      } else if (line === '/close' || line.startsWith('/close ')) {
        const [, code, ...reason] = line.split(' ');
        ws.close(code ? Number(code) : 1000, reason.join(' '));
        localClose.requested = true;
      } else if (ws.readyState === ws.OPEN) {
        ws.send(line);
      }
    } catch (error) {
      print(paint('red', (error as Error).message));
    }
    if (ws.readyState === ws.OPEN) rl.prompt();
  });
  rl.on('close', () => {
    if (ws.readyState === ws.OPEN) {
      localClose.requested = true;
      ws.close(1000);
    }
  });
  ws.on('close', () => rl.close());
  rl.prompt();
  return print;
}
