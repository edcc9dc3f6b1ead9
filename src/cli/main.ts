import { readFileSync } from 'node:fs';
import { StartupError, UsageError } from './args.js';
import { connectHelp, runConnect } from './connect.js';
import { echoHelp, runEcho } from './echo.js';
import { messagingCommands } from './messaging.js';
import { proxyHelp, runProxy } from './proxy.js';
import { runServe, serveHelp } from './serve.js';

const mainHelp = `Usage: socketeer <command> [options]

Commands:
  serve     run the chat demo: a web page at / and WebSocket chat at /chat (port 8000)
  echo      run an echo server (every message sent back unchanged)
  connect   connect to a WebSocket server (stdin/stdout, or --echo)
  proxy     a WebSocket-aware reverse proxy and load balancer
  sub       print a messaging channel's publications (with offsets; recovers on reconnect)
  pub       publish to a messaging channel (arguments or stdin lines); prints each ack
  presence  who is in a messaging channel

Options:
  -h, --help          show help (also: socketeer <command> --help)
  -v, -V, --version   print the version
  -c, --connect URL   same as: socketeer connect URL (wscat's spelling)
`;

const helps: Record<string, string> = {
  serve: serveHelp,
  echo: echoHelp,
  connect: connectHelp,
  proxy: proxyHelp,
  ...Object.fromEntries(Object.entries(messagingCommands).map(([name, command]) => [name, command.help])),
};

const VERSION_FLAGS = ['-v', '-V', '--version'];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return pkg.version as string;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(mainHelp);
    return command === undefined ? 2 : 0;
  }
  if (VERSION_FLAGS.includes(command)) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  // wscat users type `wscat -c URL`: the same works here.
  if (command === '-c' || command === '--connect' || command.startsWith('--connect=')) {
    if (argv.some((a) => a === '-h' || a === '--help')) {
      process.stdout.write(connectHelp);
      return 0;
    }
    return runConnect(argv);
  }
  if (command === '-l' || command === '--listen' || command.startsWith('--listen=')) {
    const port = command.startsWith('--listen=') ? command.slice('--listen='.length) : (rest[0] ?? '8080');
    throw new UsageError(
      `socketeer has no wscat-style --listen; for a server to try a client on, run "socketeer echo --port ${port}" (echoes every message) or "socketeer serve --port ${port}" (the chat demo)`,
    );
  }
  if (!(command in helps)) {
    throw new UsageError(`unknown command "${command}"; commands are: ${Object.keys(helps).join(', ')}`);
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(helps[command]!);
    return 0;
  }
  if (rest.some((a) => VERSION_FLAGS.includes(a))) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command === 'serve' || command === 'echo' || command === 'proxy') {
    await (command === 'serve' ? runServe(rest) : command === 'echo' ? runEcho(rest) : runProxy(rest));
    return -1; // keeps running until a signal
  }
  const messaging = messagingCommands[command];
  return messaging ? messaging.run(rest) : runConnect(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: Error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`socketeer: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof StartupError) {
      process.stderr.write(`socketeer: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`socketeer: internal error: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    }
  },
);
