/** What the messaging commands (sub, pub, presence) share: options, checks, the client. */

import { MessagingClient, type NodeMessagingClientOptions } from '../messaging/node-client.js';
import { SUBPROTOCOL } from '../messaging/protocol.js';
import { WebSocket } from '../node/websocket.js';
import { HandshakeError } from '../protocol/errors.js';
import { UsageError } from './args.js';

/** Options every messaging command takes. */
export const commonOptions = {
  token: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export const commonHelp = `  --token TOKEN            credential for the hub's authenticate hook
  --timeout SECONDS        give up on a reply after this long (default 10)
  -h, --help               show this help`;

export const jsonHelp = '  --json                   print JSON (one object per line) instead of text';

const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return 10_000;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0) {
    throw new UsageError(`--timeout must be a number of seconds above 0; got "${value}"`);
  }
  // Timers of more than 2^31 - 1 ms fire at once: every reply would time out at once.
  if (seconds > MAX_TIMEOUT_SECONDS) {
    throw new UsageError(
      `--timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 days); got "${value}"`,
    );
  }
  return Math.ceil(seconds * 1000);
}

export function checkUrl(command: string, url: string | undefined): string {
  if (!url)
    throw new UsageError(`a URL is required, e.g. socketeer ${command} ws://localhost:8000/connection`);
  if (!/^(wss?|https?):\/\//i.test(url)) {
    throw new UsageError(`the URL must start with ws://, wss://, http:// or https://; got "${url}"`);
  }
  return url;
}

/** A client that reports trouble on stderr, one line each. */
export function openClient(command: string, url: string, values: Record<string, unknown>): MessagingClient {
  const options: NodeMessagingClientOptions = {
    name: `socketeer-cli/${command}`,
    timeout: parseTimeout(values.timeout as string | undefined),
  };
  if (typeof values.token === 'string') options.token = values.token;
  const client = new MessagingClient(url, options);
  client.on('error', ({ error, channel }) =>
    process.stderr.write(`socketeer ${command}: ${channel ? `${channel}: ` : ''}${error.message}\n`),
  );
  exitIfNotAHub(command, url, client);
  return client;
}

/**
 * A URL that is no hub (a wrong path, the chat's /chat, another WebSocket
 * server) never gets better by reconnecting, and the browser-style client only
 * sees "1006". So when the first connection fails, one plain handshake finds
 * out why; a refusal that retrying cannot cure ends the command with exit 1.
 */
function exitIfNotAHub(command: string, url: string, client: MessagingClient): void {
  let connected = false;
  let asked = false;
  client.once('connected', () => (connected = true));
  const diagnose = () => {
    if (connected || asked) return;
    asked = true;
    whyNotAHub(url).then((why) => {
      if (!why || connected) return;
      process.stderr.write(`socketeer ${command}: ${why}\n`);
      client.close();
      process.exit(1);
    });
  };
  client.on('connecting', ({ code }) => code !== 0 && diagnose());
  client.on('error', ({ channel }) => channel === undefined && diagnose());
}

async function whyNotAHub(url: string): Promise<string | undefined> {
  const where = 'socketeer serve has its hub at /connection';
  try {
    const ws = await WebSocket.connect(url, { protocols: SUBPROTOCOL, perMessageDeflate: false });
    const protocol = ws.protocol;
    ws.close(1000);
    return protocol === SUBPROTOCOL
      ? undefined
      : `${url} is a WebSocket endpoint but not a socketeer messaging hub (it did not select ${SUBPROTOCOL}); ${where}`;
  } catch (error) {
    const status = error instanceof HandshakeError ? (error.statusCode ?? 0) : 0;
    // 4xx but 408/429 is the server's final word; 5xx, timeouts and refused connections may pass.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return `no messaging hub at ${url}: ${(error as Error).message}${status === 404 ? ` (${where})` : ''}`;
    }
    return undefined;
  }
}

/** JSON data when the text is JSON, else the text itself (so `pub URL CH hello` sends "hello"). */
export function parseData(text: string, asString: boolean): unknown {
  if (asString) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
