import { presenceHelp, runPresence } from './presence.js';
import { pubHelp, runPub } from './pub.js';
import { runSub, subHelp } from './sub.js';

/** The messaging commands (issue 14): poke a channel of a socketeer messaging hub from a shell. */
export const messagingCommands: Record<string, { help: string; run(args: string[]): Promise<number> }> = {
  sub: { help: subHelp, run: runSub },
  pub: { help: pubHelp, run: runPub },
  presence: { help: presenceHelp, run: runPresence },
};
