import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
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
  -h, --help      show help (also: socketeer <command> --help)
  -v, --version   print the version
`;

const helps: Record<string, string> = {
  serve: serveHelp,
  echo: echoHelp,
  connect: connectHelp,
  proxy: proxyHelp,
  ...Object.fromEntries(Object.entries(messagingCommands).map(([name, command]) => [name, command.help])),
};

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
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (!(command in helps)) {
    throw new UsageError(`unknown command "${command}"; commands are: ${Object.keys(helps).join(', ')}`);
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(helps[command]!);
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
    } else {
      process.stderr.write(`socketeer: internal error: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    }
  },
);
