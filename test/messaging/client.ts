import type { AddressInfo } from 'node:net';
import { WebSocket } from '../../src/index.js';
import { Hub } from '../../src/messaging/index.js';
import { type Command, type ErrorBody, type Push, SUBPROTOCOL } from '../../src/messaging/protocol.js';

type Frame = { id?: number; result?: unknown; error?: ErrorBody } & Partial<Push> & Record<string, unknown>;

/**
 * A minimal raw protocol client for the hub's tests: it records every frame in
 * arrival order, so tests can assert ordering (pushes before replies) exactly.
 */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<[number, string]>;
  private nextId = 1;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)));
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.wake();
        resolve([code, reason]);
      }),
    );
  }

  static async open(url: string): Promise<RawClient> {
    const ws = await WebSocket.connect(url, { protocols: [SUBPROTOCOL] });
    return new RawClient(ws);
  }

  /** Open and connect (optionally with subs); resolves with the connect reply frame. */
  static async connected(url: string, params: Record<string, unknown> = {}): Promise<RawClient> {
    const client = await RawClient.open(url);
    const reply = await client.call('connect', params);
    if (reply.error) throw new Error(`connect failed: ${JSON.stringify(reply.error)}`);
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `predicate` holds on the frames (checked on every frame; rejects when closed). */
  async until<T>(predicate: () => T | undefined | false, what = 'condition'): Promise<T> {
    for (;;) {
      const value = predicate();
      if (value) return value;
      if (this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(
          `connection closed while waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`,
        );
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  send(cmd: Command['cmd'], params?: unknown): number {
    const id = this.nextId++;
    this.ws.send(JSON.stringify(params === undefined ? { id, cmd } : { id, cmd, params }));
    return id;
  }

  reply(id: number): Promise<Frame> {
    return this.until(() => this.frames.find((f) => f.id === id), `reply ${id}`);
  }

  async call(cmd: Command['cmd'], params?: unknown): Promise<Frame> {
    return this.reply(this.send(cmd, params));
  }

  /** The result, or throws with the error body. */
  async request<T = Record<string, unknown>>(cmd: Command['cmd'], params?: unknown): Promise<T> {
    const frame = await this.call(cmd, params);
    if (frame.error) throw Object.assign(new Error(frame.error.message), frame.error);
    return frame.result as T;
  }

  pubs(channel: string): Array<{ offset: number; epoch: string; data: unknown; info?: { user: string } }> {
    return this.frames
      .filter((f) => f.push === 'pub' && f.channel === channel)
      .map((f) => f.pub as { offset: number; epoch: string; data: unknown });
  }

  pushes(kind: string): Frame[] {
    return this.frames.filter((f) => f.push === kind);
  }

  close(): void {
    this.ws.close();
  }
}

/** The WebSocket URL of a listening hub. */
export function urlOf(hub: Hub, path = '/'): string {
  return `ws://127.0.0.1:${(hub.address() as AddressInfo).port}${path}`;
}

/** A hub on a free loopback port, listening. */
export async function startHub(options: ConstructorParameters<typeof Hub>[0] = {}): Promise<Hub> {
  const hub = new Hub({ port: 0, host: '127.0.0.1', ...options });
  await hub.listening();
  return hub;
}
