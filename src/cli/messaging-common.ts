/** What the messaging commands (sub, pub, presence) share: options, checks, the client. */

import { MessagingClient, type NodeMessagingClientOptions } from '../messaging/node-client.js';
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

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return 10_000;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0) {
    throw new UsageError(`--timeout must be a number of seconds above 0; got "${value}"`);
  }
  return seconds * 1000;
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
  return client;
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
