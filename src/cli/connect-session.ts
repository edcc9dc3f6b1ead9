import { createInterface } from 'node:readline';
import type { WebSocket } from '../node/websocket.js';
import { paint } from './colour.js';
import { type SessionFlags, shownUrl } from './connect-flags.js';

/**
 * What `socketeer connect` does once connected: a prompt on a terminal, lines
 * in and messages out in a pipe, or the --execute messages. Every mode stops
 * reading stdin when the connection closes, so `tail -f log | socketeer
 * connect URL` ends when the server goes away.
 */
export class Session {
  /** The user ended the session (/close, Ctrl-C, Ctrl-D, end of input, --execute done). */
  closedByUser = false;
  /** stdout's reader went away (`connect ... | head -1`): stop printing, leave quietly. */
  readerGone = false;
  /** stdout failed for another reason than EPIPE (reported on stderr; exit 1). */
  outputFailed = false;
  private print: (line: string) => void = (line) => this.write(line);
  private stopInput: () => void = () => {};
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly flags: SessionFlags,
    readonly interactive: boolean,
  ) {
    // Node ignores SIGPIPE, so a closed stdout shows up as an EPIPE 'error'
    // event, which would crash the process if nothing listened.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      this.readerGone = true;
      if (error.code !== 'EPIPE') {
        this.outputFailed = true;
        process.stderr.write(`socketeer connect: stdout: ${error.message}\n`);
      }
      this.end(1001, 'output closed'); // RFC 6455 7.4.1: 1001, the endpoint is going away
    });
    ws.on('ping', (payload) => {
      if (flags.showPingPong) this.control(`ping${payload.length ? `: ${payload}` : ''}`);
    });
    ws.on('pong', (payload) => {
      // On a terminal a pong answers the user's /ping, so it is always shown.
      if (flags.showPingPong || interactive) this.control(`pong${payload.length ? `: ${payload}` : ''}`);
    });
    ws.on('close', () => {
      clearTimeout(this.timer);
      this.stopInput();
    });
  }

  /** Called once the connection is open. */
  start(): void {
    if (this.flags.echo) return;
    if (this.flags.execute) this.execute(this.flags.execute);
    else if (this.interactive) this.startTerminal();
    else this.startPipe();
  }

  message(data: string | Buffer, isBinary: boolean): void {
    if (this.flags.echo) {
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(data, { binary: isBinary });
      return;
    }
    this.print(this.format(data, isBinary));
  }

  /** How the session ended, on a terminal (a pipe reports only failures, on stderr). */
  closed(line: string, normal: boolean): void {
    if (this.interactive) this.print(paint(normal ? 'green' : 'red', line));
  }

  /** Close with `code` (the user's choice, so a normal end). */
  end(code = 1000, reason = ''): void {
    if (this.ws.readyState === this.ws.OPEN) {
      this.ws.close(code, reason); // throws on a code the user may not send: nothing changes then
      this.closedByUser = true;
    } else if (this.ws.readyState === this.ws.CONNECTING) {
      this.closedByUser = true;
      this.ws.terminate();
    }
    // Already closing or closed: whoever started that decides how it ended.
  }

  private write(line: string): void {
    if (!this.readerGone) process.stdout.write(`${line}\n`);
  }

  /** Pings and pongs: on a terminal above the prompt, in a pipe on stderr (stdout carries messages only). */
  private control(line: string): void {
    if (this.interactive) this.print(paint('dim', line));
    else process.stderr.write(`${line}\n`);
  }

  private format(data: string | Buffer, isBinary: boolean): string {
    let text: string;
    if (isBinary) {
      text = (data as Buffer).toString(this.flags.binaryFormat);
      if (this.interactive) {
        const label = `[binary ${(data as Buffer).length} bytes, ${this.flags.binaryFormat}]`;
        text = `${paint('dim', label)} ${text}`;
      }
    } else {
      text = data as string;
      if (this.flags.json) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          // Not JSON: print as it came.
        }
      }
    }
    return this.interactive ? `${paint('cyan', '<')} ${text}` : text;
  }

  /** wscat's -x: send each message, print replies for --wait seconds, close with 1000. */
  private execute(messages: string[]): void {
    for (const m of messages) this.ws.send(m);
    this.timer = setTimeout(() => this.end(1000), this.flags.waitSeconds * 1000);
  }

  /** Pipeline mode: lines in, messages out; close at the end of input (after --wait). */
  private startPipe(): void {
    const lines = createInterface({ input: process.stdin, terminal: false });
    this.stopInput = () => {
      lines.close();
      process.stdin.destroy();
    };
    lines.on('line', (line) => {
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(line);
    });
    lines.on('close', () => {
      if (this.ws.readyState !== this.ws.OPEN) return;
      this.timer = setTimeout(() => this.end(1000), this.flags.waitSeconds * 1000);
    });
  }

  /** Terminal mode: a prompt, slash commands, and incoming messages printed above the prompt. */
  private startTerminal(): void {
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: paint('dim', '> ') });
    this.stopInput = () => rl.close();
    this.print = (line) => {
      if (this.readerGone) return;
      process.stdout.write('\r\x1b[K');
      process.stdout.write(`${line}\n`);
      if (this.ws.readyState === this.ws.OPEN) rl.prompt(true);
    };
    const { ws } = this;
    const subprotocol = ws.protocol ? ` (subprotocol ${ws.protocol})` : '';
    this.print(paint('green', `connected to ${shownUrl(ws.url)}${subprotocol}; /help for commands`));
    rl.on('line', (line) => {
      try {
        this.command(line);
      } catch (error) {
        this.print(paint('red', (error as Error).message));
      }
      if (ws.readyState === ws.OPEN) rl.prompt();
    });
    // Ctrl-C: readline reports it instead of the process getting SIGINT.
    // The first one closes politely, a second one does not wait.
    rl.on('SIGINT', () => {
      if (this.closedByUser) ws.terminate();
      else this.end(1000);
    });
    rl.on('close', () => this.end(1000)); // Ctrl-D
    rl.prompt();
  }

  private command(line: string): void {
    const { ws } = this;
    if (line.startsWith('//')) {
      if (ws.readyState === ws.OPEN) ws.send(line.slice(1));
      return;
    }
    if (!line.startsWith('/')) {
      if (ws.readyState === ws.OPEN) ws.send(line);
      return;
    }
    const [name, ...args] = line.split(' ');
    switch (name) {
      case '/help':
        this.print(TERMINAL_HELP);
        return;
      case '/ping':
        ws.ping(args.join(' '));
        return;
      case '/pong':
        ws.pong(args.join(' '));
        return;
      case '/close': {
        const [code, ...reason] = args;
        if (code !== undefined && code !== '' && !/^\d+$/.test(code)) {
          throw new Error(`/close takes a numeric code first; got "${code}"`);
        }
        this.end(code ? Number(code) : 1000, reason.join(' '));
        return;
      }
      default:
        // Sending a mistyped command as a message would surprise the server and the user alike.
        this.print(
          paint('red', `unknown command ${name}; /help lists the commands, // at the start sends a /`),
        );
    }
  }
}

const TERMINAL_HELP = `/ping [text]             send a ping (the pong is shown)
/pong [text]             send an unsolicited pong
/close [code] [reason]   close (1000 by default; 1001-1003, 1007-1014, 3000-4999)
//text                   send "/text" as a message
Ctrl-D or Ctrl-C         close with 1000 (Ctrl-C twice: drop the connection)`;
