import { createInterface } from 'node:readline';
import type { PublishResult } from '../messaging/node-client.js';
import { parseCommand, UsageError } from './args.js';
import { checkUrl, commonHelp, commonOptions, openClient, parseData } from './messaging-common.js';

export const pubHelp = `Usage: socketeer pub URL CHANNEL [DATA] [options]

Publish to a channel of a socketeer messaging hub and print each
acknowledgement, once the hub has stored the publication: its position as a
JSON line, e.g. {"epoch":"k3Jd9a","offset":42}.

DATA is sent as JSON when it parses as JSON (42, "text", {"a":1}), else as a
string. Without DATA, every line of stdin is one publication, in order (one
at a time: each is acknowledged before the next is sent).
Each publish carries an idempotency key: when the connection drops before the
acknowledgement, it is sent again after reconnecting and stored only once.

Options:
  --string                 send DATA (or each line) as a string, never as JSON
${commonHelp}

Exit status: 0 when every publication was acknowledged, 1 otherwise (the
reason on stderr, e.g. permission-denied), 2 for usage errors.
`;

export async function runPub(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    'pub',
    args,
    { ...commonOptions, string: { type: 'boolean' } },
    3,
  );
  const url = checkUrl('pub', positionals[0]);
  const channel = positionals[1];
  if (!channel) throw new UsageError('a CHANNEL is required, e.g. socketeer pub URL chat:lobby hello');
  const client = openClient('pub', url, values);
  client.connect();
  const asString = values.string === true;
  const print = (result: PublishResult) => {
    process.stdout.write(`${JSON.stringify({ epoch: result.epoch, offset: result.offset })}\n`);
  };
  let failures = 0;
  const fail = (error: Error) => {
    failures++;
    process.stderr.write(`socketeer pub: ${error.message}\n`);
  };
  try {
    if (positionals[2] !== undefined) {
      await client.publish(channel, parseData(positionals[2], asString)).then(print, fail);
    } else {
      // One at a time: a publish the hub refuses for a moment (rate limit) is retried by the
      // client, and pipelining would let a later line overtake it. Lines are stored in order.
      for await (const line of createInterface({ input: process.stdin, terminal: false })) {
        if (line === '') continue;
        await client.publish(channel, parseData(line, asString)).then(print, fail);
      }
    }
  } finally {
    client.close();
  }
  return failures === 0 ? 0 : 1;
}
