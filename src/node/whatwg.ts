import { Buffer } from 'node:buffer';
import { basicAuthorization } from './client/credentials.js';
import type { ClientOptions } from './client/options.js';
import { findBadSubprotocol, readWebSocketUrl } from './client/url.js';
import { kCloseWithoutStatus, kPeerClose } from './internal.js';
import { WebSocket as NodeWebSocket } from './websocket.js';

/**
 * The browser's WebSocket API (WHATWG WebSockets Standard) for Node, on top of
 * the Node WebSocket class. Code written for browsers runs unchanged:
 *
 *   const ws = new WebSocket('ws://localhost:8000/chat');
 *   ws.onmessage = (event) => console.log(event.data);
 *
 * Where the standard asks for an exception, this class throws the same
 * DOMException name a browser does; events are real `Event`s dispatched on an
 * `EventTarget`, in the order the standard gives (error before close when the
 * connection fails). A third, non-standard argument takes the Node client's
 * options (headers, TLS, proxy, ...).
 */

export type BinaryType = 'blob' | 'arraybuffer' | 'nodebuffer';
const BINARY_TYPES: ReadonlySet<string> = new Set(['blob', 'arraybuffer', 'nodebuffer']);

export interface CloseEventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/** The event fired when the connection has closed (browsers have it built in; Node 20 does not). */
export class CloseEvent extends Event {
  readonly wasClean: boolean;
  readonly code: number;
  readonly reason: string;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.wasClean = init.wasClean ?? false;
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
  }
}

type Handler = ((this: WebSocket, event: Event) => unknown) | null;
const HANDLER_EVENTS = ['open', 'message', 'error', 'close'] as const;
type HandlerEvent = (typeof HANDLER_EVENTS)[number];

function syntaxError(message: string): DOMException {
  return new DOMException(message, 'SyntaxError');
}

/** WebIDL `[Clamp] unsigned short`: NaN is 0, out-of-range values clamp, halves round to even. */
function clampUnsignedShort(value: unknown): number {
  const n = Number(value);
  if (Number.isNaN(n)) return 0;
  const clamped = Math.min(Math.max(n, 0), 65535);
  const floor = Math.floor(clamped);
  const fraction = clamped - floor;
  if (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/** Parse and check the URL as the constructor's steps do (http(s) map to ws(s)). */
function parseUrl(url: unknown): URL {
  const read = readWebSocketUrl(String(url));
  if ('problem' in read) {
    throw syntaxError(
      read.problem.kind === 'invalid'
        ? `The URL '${String(url)}' is invalid.`
        : `The URL's scheme must be 'ws', 'wss', 'http' or 'https'; '${read.problem.scheme}' is not allowed.`,
    );
  }
  const parsed = read.url;
  // URL.hash is '' both for no fragment and an empty one: look at the string itself.
  if (parsed.href.includes('#')) {
    throw syntaxError(
      `The URL contains a fragment identifier ('${parsed.hash.slice(1)}'); WebSocket URLs must not.`,
    );
  }
  // Credentials are allowed (browsers send them as Basic authentication, see
  // client/credentials.ts), but not a user name that Basic cannot carry.
  try {
    basicAuthorization(parsed);
  } catch (error) {
    throw syntaxError((error as Error).message);
  }
  return parsed;
}

function parseProtocols(protocols: unknown): string[] {
  if (protocols === undefined) return [];
  const list =
    typeof protocols === 'object' && protocols !== null && Symbol.iterator in protocols
      ? Array.from(protocols as Iterable<unknown>, String)
      : [String(protocols)];
  const bad = findBadSubprotocol(list);
  if (bad) {
    throw syntaxError(
      `The subprotocol '${bad.protocol}' is ${bad.kind === 'token' ? 'invalid' : 'duplicated'}.`,
    );
  }
  return list;
}

/** Bytes as a Buffer over the same memory, or null for data sent as text. */
function binaryView(data: unknown): Buffer | null {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

export class WebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly #url: string;
  readonly #origin: string;
  readonly #inner: NodeWebSocket;
  #readyState: 0 | 1 | 2 | 3 = 0;
  #binaryType: BinaryType = 'blob';
  #protocol = '';
  #extensions = '';
  /** Sends waiting behind a Blob being read, so that messages keep their order. */
  readonly #queue: Array<Promise<Buffer> | string | Buffer> = [];
  #queuedBytes = 0;
  /** Bytes of sends made after close(): the standard counts them in bufferedAmount. */
  #bytesAfterClose = 0;
  readonly #handlers = new Map<HandlerEvent, { handler: Handler; listener: (event: Event) => void }>();

  constructor(url: string | URL, protocols?: string | string[], options?: ClientOptions) {
    super();
    const parsed = parseUrl(url);
    const offered = parseProtocols(protocols);
    this.#url = parsed.href;
    this.#origin = `${parsed.protocol}//${parsed.host}`;
    const inner = new NodeWebSocket(parsed, offered, options);
    this.#inner = inner;
    inner.on('open', () => this.#onOpen());
    inner.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    // The standard fires these from a task of their own, never inside a call such as close().
    inner.on('close', () => setImmediate(() => this.#onClose()));
  }

  get url(): string {
    return this.#url;
  }

  get readyState(): 0 | 1 | 2 | 3 {
    // A Close from the server starts the closing handshake too.
    if (this.#readyState === WebSocket.OPEN && this.#inner.readyState === WebSocket.CLOSING) return 2;
    return this.#readyState;
  }

  get bufferedAmount(): number {
    return this.#inner.bufferedAmount + this.#queuedBytes + this.#bytesAfterClose;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  /** Values outside the enumeration are ignored, as WebIDL does for enum attributes. */
  set binaryType(value: BinaryType) {
    if (BINARY_TYPES.has(String(value))) this.#binaryType = String(value) as BinaryType;
  }

  send(...args: [data: string | ArrayBufferLike | ArrayBufferView | Blob]): void {
    // A rest parameter tells send() from send(undefined), which sends "undefined".
    if ((args as unknown[]).length === 0)
      throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required.");
    const data = args[0];
    if (this.#readyState === WebSocket.CONNECTING) {
      throw new DOMException('Still in CONNECTING state.', 'InvalidStateError');
    }
    const bytes = binaryView(data);
    const payload: Promise<Buffer> | string | Buffer =
      bytes ?? (data instanceof Blob ? data.arrayBuffer().then((b) => Buffer.from(b)) : String(data));
    const size =
      typeof payload === 'string'
        ? Buffer.byteLength(payload)
        : payload instanceof Buffer
          ? payload.length
          : (data as Blob).size;
    if (this.readyState !== WebSocket.OPEN) {
      this.#bytesAfterClose += size;
      return;
    }
    if (this.#queue.length === 0 && !(payload instanceof Promise)) {
      this.#inner.send(payload);
      return;
    }
    // Something is waiting for a Blob to be read: copy views (the caller may reuse them) and queue.
    this.#queue.push(payload instanceof Buffer ? Buffer.from(payload) : payload);
    this.#queuedBytes += size;
    if (this.#queue.length === 1) void this.#flushQueue();
  }

  async #flushQueue(): Promise<void> {
    for (let item = this.#queue[0]; item !== undefined; item = this.#queue[0]) {
      let payload: string | Buffer;
      try {
        payload = await item;
      } catch {
        // An unreadable Blob: the standard closes the connection rather than lose data silently.
        this.#queue.length = 0;
        this.#queuedBytes = 0;
        this.#inner.close(1011, 'could not read a Blob passed to send()');
        return;
      }
      this.#queue.shift();
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      this.#queuedBytes -= size;
      if (this.#inner.readyState === WebSocket.OPEN) this.#inner.send(payload);
      else this.#bytesAfterClose += size;
    }
  }

  close(code?: number, reason?: string): void {
    let closeCode: number | undefined;
    if (code !== undefined) {
      closeCode = clampUnsignedShort(code);
      if (closeCode !== 1000 && (closeCode < 3000 || closeCode > 4999)) {
        throw new DOMException(
          `The close code must be either 1000, or between 3000 and 4999. ${closeCode} is neither.`,
          'InvalidAccessError',
        );
      }
    }
    let closeReason: string | undefined;
    if (reason !== undefined) {
      closeReason = String(reason).toWellFormed();
      if (Buffer.byteLength(closeReason) > 123) {
        throw syntaxError('The close reason must not be greater than 123 UTF-8 bytes.');
      }
    }
    if (this.readyState === WebSocket.CLOSING || this.readyState === WebSocket.CLOSED) return;
    this.#readyState = WebSocket.CLOSING;
    if (this.#inner.readyState === WebSocket.CONNECTING) {
      this.#inner.terminate(); // fails the connection: 'error', then 'close' with 1006
      return;
    }
    // No code and no reason: a Close frame without a body (the peer sees 1005).
    if (closeCode === undefined && closeReason === undefined) this.#inner[kCloseWithoutStatus]();
    else this.#inner.close(closeCode ?? 1000, closeReason ?? '');
  }

  #onOpen(): void {
    this.#readyState = WebSocket.OPEN;
    this.#protocol = this.#inner.protocol;
    this.#extensions = this.#inner.extensions;
    this.dispatchEvent(new Event('open'));
  }

  #onMessage(data: string | Buffer, isBinary: boolean): void {
    // Messages that arrive after close() are not delivered.
    if (this.#readyState !== WebSocket.OPEN) return;
    let value: unknown = data;
    if (isBinary) {
      const bytes = data as Buffer;
      if (this.#binaryType === 'blob') value = new Blob([bytes]);
      else if (this.#binaryType === 'arraybuffer') {
        value = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
      }
    }
    this.dispatchEvent(new MessageEvent('message', { data: value, origin: this.#origin }));
  }

  #onClose(): void {
    const { peer, failed } = this.#inner[kPeerClose]();
    const clean = this.#inner.wasClean;
    this.#readyState = WebSocket.CLOSED;
    // 'error' comes first when the connection failed: it never opened, or this side
    // failed it (a protocol error by the peer). A dropped TCP connection is no failure.
    if (failed) this.dispatchEvent(new Event('error'));
    this.dispatchEvent(
      new CloseEvent('close', {
        wasClean: clean,
        code: peer ? (peer.code ?? 1005) : 1006,
        reason: peer?.reason ?? '',
      }),
    );
  }

  #getHandler(type: HandlerEvent): Handler {
    return this.#handlers.get(type)?.handler ?? null;
  }

  /** Event handler attributes: one listener per event, keeping its place among the others. */
  #setHandler(type: HandlerEvent, handler: unknown): void {
    const value =
      typeof handler === 'function' || (typeof handler === 'object' && handler !== null) ? handler : null;
    const entry = this.#handlers.get(type);
    if (value === null) {
      if (entry) this.removeEventListener(type, entry.listener);
      this.#handlers.delete(type);
    } else if (entry) {
      entry.handler = value as Handler;
    } else {
      const created = {
        handler: value as Handler,
        listener: (event: Event) => {
          if (typeof created.handler === 'function') created.handler.call(this, event);
        },
      };
      this.#handlers.set(type, created);
      this.addEventListener(type, created.listener);
    }
  }

  get onopen(): Handler {
    return this.#getHandler('open');
  }
  set onopen(handler: Handler) {
    this.#setHandler('open', handler);
  }
  get onmessage(): Handler {
    return this.#getHandler('message');
  }
  set onmessage(handler: Handler) {
    this.#setHandler('message', handler);
  }
  get onerror(): Handler {
    return this.#getHandler('error');
  }
  set onerror(handler: Handler) {
    this.#setHandler('error', handler);
  }
  get onclose(): Handler {
    return this.#getHandler('close');
  }
  set onclose(handler: Handler) {
    this.#setHandler('close', handler);
  }
}

// The constants live on the prototype too, as WebIDL puts them (ws.OPEN === 1).
for (const [name, value] of [
  ['CONNECTING', 0],
  ['OPEN', 1],
  ['CLOSING', 2],
  ['CLOSED', 3],
] as const) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
