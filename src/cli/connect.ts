import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ClientOptions } from '../node/client.js';
import { WebSocket } from '../node/websocket.js';
import { parseCommand, UsageError } from './args.js';

export const connectHelp = `Usage: socketeer connect URL [options]

Connect to a WebSocket server. By default each line of standard input is sent
as a text message and each message received is written to standard output,
one per line (binary messages as hex). At the end of input the client closes
with 1000 and exits when the closing handshake is done.

Options:
  --echo                send every received message back unchanged until the
                        server closes (for conformance suites); exit 0 once
                        connected and closed
  -H, --header "K: V"   add a request header (repeatable)
  --subprotocol NAME    offer a subprotocol (repeatable)
  --ca FILE             trust this PEM CA certificate for wss://
  --insecure            do not verify the server's TLS certificate
  --max-message N       largest message accepted, in bytes (default 67108864)
  -h, --help            show this help

Exit status: 0 after a normal close, 1 when the connection fails or closes
abnormally, 2 for usage errors.
`;

export async function runConnect(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    'connect',
    args,
    {
      echo: { type: 'boolean' },
      header: { type: 'string', short: 'H', multiple: true },
      subprotocol: { type: 'string', multiple: true },
      ca: { type: 'string' },
      insecure: { type: 'boolean' },
      'max-message': { type: 'string' },
    },
    1,
  );
  const url = positionals[0];
  if (!url) throw new UsageError('a URL is required, e.g. socketeer connect ws://localhost:9001/');
  const options: ClientOptions = {};
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must look like "Name: value"; got "${h}"`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (Object.keys(headers).length > 0) options.headers = headers;
  if (values.ca !== undefined) {
    try {
      options.ca = readFileSync(values.ca as string);
    } catch {
      throw new UsageError(`cannot read CA file ${values.ca}`);
    }
  }
  if (values.insecure) options.rejectUnauthorized = false;
  if (values['max-message'] !== undefined) {
    const n = Number(values['max-message']);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(
        `--max-message must be a positive number of bytes; got "${values['max-message']}"`,
      );
    }
    options.maxMessageSize = n;
  }

  let ws: WebSocket;
  try {
    ws = new WebSocket(url, values.subprotocol as string[] | undefined, options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let opened = false;
  ws.on('open', () => {
    opened = true;
    if (!values.echo) startInput(ws);
  });
  ws.on('message', (data, isBinary) => {
    if (values.echo) {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
      return;
    }
    process.stdout.write(`${isBinary ? (data as Buffer).toString('hex') : (data as string)}\n`);
  });
  return new Promise<number>((resolve) => {
    ws.on('close', (code, reason) => {
      if (!opened) {
        process.stderr.write(
          `socketeer connect: cannot connect to ${url}: ${ws.lastError?.message ?? reason}\n`,
        );
        return resolve(1);
      }
      if (values.echo) return resolve(0);
      const normal = code === 1000 || code === 1001;
      if (!normal)
        process.stderr.write(`socketeer connect: closed with ${code}${reason ? ` (${reason})` : ''}\n`);
      resolve(normal ? 0 : 1);
    });
  });
}

function startInput(ws: WebSocket): void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on('line', (line) => {
    if (ws.readyState === ws.OPEN) ws.send(line);
  });
  lines.on('close', () => {
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
}
