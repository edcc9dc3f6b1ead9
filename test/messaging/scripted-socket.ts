import type { WebSocketConstructor, WebSocketLike } from '../../src/messaging/client/types.js';
import { SUBPROTOCOL } from '../../src/messaging/protocol.js';

/** A command as the client sends it. */
export interface ScriptedCommand {
  id: number;
  cmd: string;
  params: { channel?: string };
}

/**
 * A scripted server in a fake WebSocket, for the client's `WebSocket` option:
 * it opens on a microtask and answers each command with what `answer`
 * returns (undefined: no reply), a microtask later, as a socket would.
 */
export function scriptedSocket(
  answer: (command: ScriptedCommand) => object | undefined,
): WebSocketConstructor {
  class ScriptedSocket implements WebSocketLike {
    readonly protocol = SUBPROTOCOL;
    onopen: (() => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: unknown = null;
    onerror: unknown = null;
    constructor() {
      queueMicrotask(() => this.onopen?.());
    }
    send(data: string): void {
      const reply = answer(JSON.parse(data) as ScriptedCommand);
      if (reply !== undefined) queueMicrotask(() => this.onmessage?.({ data: JSON.stringify(reply) }));
    }
    close(): void {}
  }
  return ScriptedSocket as WebSocketConstructor;
}
