import { WebSocketServer } from '../index.js';
import {
  listenError,
  listeningUrl,
  onShutdownSignal,
  parseCommand,
  parsePort,
  readTlsFlags,
  UsageError,
} from './args.js';

export const echoHelp = `Usage: socketeer echo [--port N] [--host H] [--tls-cert FILE --tls-key FILE]

An echo server: every message is sent back unchanged (text as text, binary as
binary), on every path. For conformance suites and quick tests.

Options:
  --port N          port to listen on (default 9001)
  --host H          address to bind (default: all interfaces)
  --tls-cert FILE   serve wss:// with this PEM certificate (needs --tls-key)
  --tls-key FILE    PEM private key for --tls-cert
  --max-message N   largest message accepted, in bytes (default 67108864)
  --no-deflate      do not negotiate permessage-deflate (on by default)
  -h, --help        show this help
`;

export async function runEcho(args: string[]): Promise<void> {
  const { values } = parseCommand('echo', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'max-message': { type: 'string' },
    'no-deflate': { type: 'boolean' },
  });
  const port = parsePort(values.port as string | undefined, 9001);
  let maxMessageSize: number | undefined;
  if (values['max-message'] !== undefined) {
    maxMessageSize = Number(values['max-message']);
    if (!Number.isInteger(maxMessageSize) || maxMessageSize < 1) {
      throw new UsageError(
        `--max-message must be a positive number of bytes; got "${values['max-message']}"`,
      );
    }
  }
  const tls = readTlsFlags(values);
  const server = new WebSocketServer({
    port,
    host: values.host as string | undefined,
    tls,
    maxMessageSize,
    perMessageDeflate: values['no-deflate'] !== true,
  });
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, port)));
  });
  const url = listeningUrl(tls ? 'wss' : 'ws', server.address());
  process.stdout.write(`socketeer echo server listening on ${url}\n`);
  onShutdownSignal(() => server.close());
}
