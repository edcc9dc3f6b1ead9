import type { StreamPosition } from '../messaging/node-client.js';
import { parseCommand, UsageError } from './args.js';
import { checkUrl, commonHelp, commonOptions, jsonHelp, openClient } from './messaging-common.js';

export const subHelp = `Usage: socketeer sub URL CHANNEL... [options]

Subscribe to channels of a socketeer messaging hub and print every
publication as it arrives, one line each: CHANNEL OFFSET DATA (DATA as JSON).
When the connection drops, it reconnects and recovers: the publications
missed meanwhile are printed once, in order. If the hub can no longer
recover them (history trimmed or lost), a line on stderr says so.
Status lines (connected, subscribed, reconnecting) go to stderr.

Options:
  --since EPOCH:OFFSET     start after this position (one CHANNEL only), e.g.
                           the last one printed by an earlier run
${jsonHelp}
                           (with "type": "pub", "subscribed" or "unsubscribed")
${commonHelp}

Runs until Ctrl-C (exit 0). Exit status 1 when the hub refuses a channel or
the connection for good (the reason on stderr), 2 for usage errors.
`;

function parseSince(value: string | undefined, channels: string[]): StreamPosition | undefined {
  if (value === undefined) return undefined;
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new UsageError(`--since must look like EPOCH:OFFSET, e.g. k3Jd9a:42; got "${value}"`);
  if (channels.length !== 1) throw new UsageError('--since works with exactly one CHANNEL');
  return { epoch: match[1]!, offset: Number(match[2]) };
}

export async function runSub(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    'sub',
    args,
    { ...commonOptions, json: { type: 'boolean' }, since: { type: 'string' } },
    Number.MAX_SAFE_INTEGER,
  );
  const url = checkUrl('sub', positionals[0]);
  const channels = [...new Set(positionals.slice(1))];
  if (channels.length === 0)
    throw new UsageError('at least one CHANNEL is required, e.g. socketeer sub URL chat:lobby');
  const since = parseSince(values.since as string | undefined, channels);
  const json = values.json === true;
  const status = (line: string) => process.stderr.write(`${line}\n`);
  const out = (value: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(value)}\n`);

  const client = openClient('sub', url, values);
  client.on('connected', ({ user, client: id }) =>
    status(`connected to ${url} as ${user || '(anonymous)'} (client ${id})`),
  );
  client.on('connecting', ({ code, reason }) => {
    if (code !== 0 || reason !== 'connect() called')
      status(`connection lost (${code ? `${code} ` : ''}${reason}); reconnecting`);
  });
  client.on('publication', (pub) => {
    if (json) out({ type: 'pub', ...pub });
    else process.stdout.write(`${pub.channel} ${pub.offset} ${JSON.stringify(pub.data) ?? 'null'}\n`);
  });
  client.on('subscribed', (event) => {
    if (json) out({ type: 'subscribed', ...event });
    const at = `${event.epoch}:${event.offset}`;
    if (event.recovered === false) {
      status(
        `${event.channel}: NOT RECOVERED: publications after ${event.since!.epoch}:${event.since!.offset} were missed (the hub no longer has them); continuing from ${at}`,
      );
    } else
      status(`${event.channel}: subscribed at ${at}${event.recovered ? ' (recovered, nothing missed)' : ''}`);
  });

  return new Promise<number>((resolve) => {
    let active = channels.length;
    client.on('unsubscribed', (event) => {
      if (json) out({ type: 'unsubscribed', ...event });
      status(`${event.channel}: unsubscribed (${event.code ? `${event.code} ` : ''}${event.reason})`);
      if (--active === 0) {
        client.close();
        resolve(1);
      }
    });
    client.on('disconnected', ({ code, reason }) => {
      if (code === 1000 && reason === 'closed by the application') return;
      process.stderr.write(`socketeer sub: disconnected for good: ${code} ${reason}\n`);
      resolve(1);
    });
    const stop = () => {
      client.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    for (const channel of channels) client.subscribe(channel, since ? { since } : {});
    client.connect();
  });
}
