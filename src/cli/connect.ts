import { isatty } from 'node:tty';
import { WebSocket } from '../node/websocket.js';
import { parseCommand, UsageError } from './args.js';
import { clientOptions, connectFlags, normalizeUrl, sessionFlags, shownUrl } from './connect-flags.js';
import { Session } from './connect-session.js';

export const connectHelp = `Usage: socketeer connect URL [options]     (or: socketeer -c URL [options])

Connect to a WebSocket server, like wscat. A URL without a scheme is ws://
(localhost:8080 means ws://localhost:8080); http(s):// means ws(s)://.

On a terminal: type a line to send it; received messages are printed as they
arrive. Commands: /ping [text], /pong [text], /close [code] [reason], /help;
start a line with // to send one that begins with /. Ctrl-D or Ctrl-C closes.

In a pipeline (stdin not a terminal): each input line is sent as a text
message and each received message is written to stdout, one per line. At the
end of input the client closes with 1000 and exits once the closing handshake
is done; it also exits when the server closes (tail -f log | socketeer connect
URL ends with the connection), and quietly when stdout's reader goes away
(socketeer connect URL | head -1).

Options (the short forms are wscat's):
  -c, --connect URL           the URL (instead of the first argument)
  -x, --execute MESSAGE       send MESSAGE once connected (repeatable), print
                              the replies for --wait seconds, close with 1000
  -w, --wait SECONDS          after --execute (default 2) or the end of input
                              (default 0), wait this long for replies
  --echo                      send every received message back unchanged until
                              the server closes (for conformance suites); exit 0
                              once connected and closed
  -H, --header "K: V"         add a request header (repeatable)
  -o, --origin ORIGIN         send this Origin header
  --host HOST                 send this Host header (default: the URL's)
  -p, --protocol 13           the protocol version (accepted for wscat users: 13 only)
  --auth USER:PASSWORD        HTTP Basic authentication
  -s, --subprotocol NAME      offer a subprotocol (repeatable)
  -P, --show-ping-pong        show pings and pongs (in a pipe: on stderr)
  -t, --timeout SECONDS       give up if not connected within this time
                              (TCP, TLS and handshake; default 30)
  -L, --location              follow HTTP redirects during the handshake
  --max-redirects N           follow at most N (default 10; implies -L)
  --proxy URL                 tunnel through this http:// proxy (HTTP CONNECT);
                              default: HTTPS_PROXY / HTTP_PROXY, NO_PROXY
  --ca FILE                   trust this PEM CA certificate for wss://
  --cert FILE, --key FILE     client certificate and key (PEM) for wss://
  -n, --no-check, --insecure  do not verify the server's TLS certificate
  --binary-format FORMAT      how to print binary messages: hex (default) or base64
  --json                      pretty-print messages that are JSON
  --max-message N             largest message accepted, in bytes (default 67108864)
  --no-deflate                do not offer permessage-deflate (offered by default)
  --no-color                  no colours (also: NO_COLOR=1); none outside a terminal
  --slash                     accepted for wscat users: slash commands are always on
  -h, --help                  show this help
  -v, -V, --version           print the version

Exit status: 0 after a normal close (1000/1001, or one you asked for), 1 when
the connection fails or closes otherwise (the cause on one line), 2 for usage
errors.
`;

export async function runConnect(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('connect', args, connectFlags, 1);
  if (values.connect !== undefined && positionals.length > 0) {
    throw new UsageError(`give the URL once: --connect ${values.connect} or "${positionals[0]}"`);
  }
  const given = (values.connect as string | undefined) ?? positionals[0];
  if (!given) throw new UsageError('a URL is required, e.g. socketeer connect ws://localhost:8000/chat');
  if (values['no-color']) process.env.NO_COLOR = '1';
  const flags = sessionFlags(values);
  const options = clientOptions(values);
  const url = normalizeUrl(given);
  if (!/^wss?:\/\//i.test(url)) {
    throw new UsageError(
      `the URL must start with ws://, wss://, http:// or https:// (none means ws://); got "${shownUrl(given)}"`,
    );
  }

  let ws: WebSocket;
  try {
    ws = new WebSocket(url, values.subprotocol as string[] | undefined, options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // isatty(0) rather than process.stdin.isTTY: --execute and --echo never touch stdin.
  const interactive = !flags.echo && !flags.execute && isatty(0);
  const session = new Session(ws, flags, interactive);
  let opened = false;
  ws.on('open', () => {
    opened = true;
    session.start();
  });
  ws.on('message', (data, isBinary) => session.message(data, isBinary));
  return new Promise<number>((resolve) => {
    ws.on('close', (code, reason) => {
      if (session.readerGone) return resolve(session.outputFailed ? 1 : 0);
      if (!opened) {
        process.stderr.write(
          `socketeer connect: cannot connect to ${shownUrl(url)}: ${connectFailure(ws, url, reason)}
`,
        );
        return resolve(1);
      }
      if (flags.echo) return resolve(0);
      const normal = code === 1000 || code === 1001 || (session.closedByUser && ws.wasClean);
      session.closed(`closed: ${code}${reason ? ` ${reason}` : ''}`, normal);
      if (!normal && !interactive) {
        process.stderr.write(`socketeer connect: closed with ${code}${reason ? ` (${reason})` : ''}\n`);
      }
      resolve(normal ? 0 : 1);
    });
  });
}

/** Why the connection failed, on one line (OpenSSL's messages span several). */
function connectFailure(ws: WebSocket, url: string, reason: string): string {
  const error = ws.lastError as NodeJS.ErrnoException | undefined;
  if (!error) return reason;
  // A wss:// URL for a plain ws:// server: OpenSSL reads the server's HTTP answer as a TLS record.
  if (url.startsWith('wss:') && /wrong version number|packet length too long/.test(error.message)) {
    return `no TLS at that address (is it a ws:// server? try ${shownUrl(`ws://${url.slice('wss://'.length)}`)})`;
  }
  return error.message.split('\n')[0]!.trim();
}
