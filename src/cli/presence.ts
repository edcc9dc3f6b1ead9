import type { ClientInfo } from '../messaging/node-client.js';
import { parseCommand, UsageError } from './args.js';
import { checkUrl, commonHelp, commonOptions, jsonHelp, openClient } from './messaging-common.js';

export const presenceHelp = `Usage: socketeer presence URL CHANNEL [options]

Print who is in a channel of a socketeer messaging hub: one line per
connection (user, client id, info), then the counts of connections and of
unique users. The channel's namespace must have presence enabled.

Options:
${jsonHelp}
${commonHelp}

Exit status: 0 on success, 1 when the hub refuses or does not answer (the
reason on stderr), 2 for usage errors.
`;

export async function runPresence(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    'presence',
    args,
    { ...commonOptions, json: { type: 'boolean' } },
    2,
  );
  const url = checkUrl('presence', positionals[0]);
  const channel = positionals[1];
  if (!channel) throw new UsageError('a CHANNEL is required, e.g. socketeer presence URL chat:lobby');
  const client = openClient('presence', url, values);
  client.connect();
  try {
    const [{ members }, stats] = await Promise.all([client.presence(channel), client.presenceStats(channel)]);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ channel, members, ...stats })}\n`);
    } else {
      for (const member of members) process.stdout.write(`${describeMember(member)}\n`);
      process.stdout.write(
        `${stats.clients} connection${stats.clients === 1 ? '' : 's'}, ${stats.users} user${stats.users === 1 ? '' : 's'}\n`,
      );
    }
    return 0;
  } catch (error) {
    process.stderr.write(`socketeer presence: ${(error as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}

function describeMember(member: ClientInfo): string {
  const user = member.user === '' ? '(anonymous)' : member.user;
  return `${user} ${member.client}${member.info === undefined ? '' : ` ${JSON.stringify(member.info)}`}`;
}
