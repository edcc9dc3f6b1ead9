import { ChatServer } from '../chat/server.js';
import { listenError, onShutdownSignal, parseCommand, parsePort, readTlsFlags } from './args.js';

export const serveHelp = `Usage: socketeer serve [--port N] [--host H] [--tls-cert FILE --tls-key FILE] [--echo]

The chat demo: a web page at / and its WebSocket endpoint at /chat, on one
port. Open the page in two browser tabs, pick nicknames, and chat. Rooms,
presence and the last 50 messages per room live in memory.

Options:
  --port N          port to listen on (default 8000)
  --host H          address to bind (default: all interfaces)
  --tls-cert FILE   serve https:// and wss:// with this PEM certificate
  --tls-key FILE    PEM private key for --tls-cert
  --echo            also serve an echo endpoint at /echo
  -h, --help        show this help

SIGINT/SIGTERM close every connection with 1001 (Going Away); the pages
reconnect by themselves when the server is back.
`;

export async function runServe(args: string[]): Promise<void> {
  const { values } = parseCommand('serve', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    echo: { type: 'boolean' },
  });
  const port = parsePort(values.port as string | undefined, 8000);
  const tls = readTlsFlags(values);
  const chat = new ChatServer({
    port,
    host: values.host as string | undefined,
    tls,
    echo: values.echo === true,
  });
  const address = await chat.listen().catch((error: NodeJS.ErrnoException) => {
    throw listenError(error, port);
  });
  const host =
    address.family === 'IPv6'
      ? address.address === '::'
        ? 'localhost'
        : `[${address.address}]`
      : address.address === '0.0.0.0'
        ? 'localhost'
        : address.address;
  const web = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
  const ws = `${tls ? 'wss' : 'ws'}://${host}:${address.port}`;
  process.stdout.write(
    `socketeer chat: open ${web}/ (WebSocket endpoint ${ws}/chat${values.echo ? `, echo at ${ws}/echo` : ''})\n`,
  );
  onShutdownSignal(() => chat.close());
}
